"""Child-side code of the benchmarks: one adapter per system over the same workloads.

``dagwright_side`` and ``dagster_side`` expose the same small set of primitives
(``op``, ``job``, ``persistent_instance``, ``execute``, ``new_run``, ``add_run``,
``add_runs``, ``query_runs``; for the run queue and launches ``write_settings``,
``instance_at``, ``run_fields``, ``submitter``, ``run_status``, ``count_runs``,
``queue_decision_pass``, ``cli_launch_argv``, ``daemon_argv``); ``jobs`` builds the jobs
(and writes the one-op job file) and ``bench/child.py`` runs the workloads on whichever
adapter it is given, so both systems run the same code.
"""

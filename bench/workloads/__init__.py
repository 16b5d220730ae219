"""Child-side code of the benchmarks: one adapter per system over the same workloads.

``dagwright_side`` and ``dagster_side`` expose the same small set of primitives
(``op``, ``job``, ``persistent_instance``, ``execute``, ``new_run``, ``add_run``,
``add_runs``, ``query_runs``); ``jobs`` builds the jobs and ``bench/child.py`` runs the
workloads on whichever adapter it is given, so both systems run the same code.
"""

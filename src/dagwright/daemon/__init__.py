"""The daemon: the run queue, the run monitor (and, later, schedules, sensors and backfills)
as ``run_iteration(now)`` loops driven by one controller."""

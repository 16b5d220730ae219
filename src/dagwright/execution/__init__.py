"""Execution: plans, op contexts, executors and the events a run writes."""

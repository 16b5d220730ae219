"""Runs: the run record, its statuses, filters, and the services that move runs along."""

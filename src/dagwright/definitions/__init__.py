"""Definitions: ops, graphs, jobs, config, partitions and the containers that hold them (pure)."""

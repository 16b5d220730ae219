"""The JSON form of a job, as the HTTP API returns it and ``dagwright job list|show --json``
prints it: metadata as ``{"type", "value"}``, tags, the graph's nodes and edges, partitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from dagwright.definitions.job import JobDefinition
from dagwright.definitions.op import OpDefinition
from dagwright.metadata import metadata_to_json

#: How many partition keys a job's JSON lists (the newest; ``count`` has them all).
MAX_PARTITION_KEYS: Final = 1000


def job_summary(job: JobDefinition, reference: str | None = None) -> dict[str, Any]:
    """A job's JSON in the jobs list: its code location and how it is addressed there
    (``reference``: the name, or ``name@location`` when the name is in several locations),
    metadata as ``{"type", "value"}``, tags, counts."""
    return {
        "name": job.name,
        "location": job.location_name,
        "reference": reference or job.name,
        "description": job.description,
        "metadata": metadata_to_json(job.metadata),
        "tags": dict(job.tags),
        "partitioned": job.partitions_def is not None,
        "op_count": len(job.graph.nodes),
    }


def job_detail(job: JobDefinition, reference: str | None = None) -> dict[str, Any]:
    """A job's full JSON: the summary, its graph (nodes and edges) and its partitions."""
    return {
        **job_summary(job, reference),
        "graph": graph_json(job),
        "partitions": partitions_json(job),
    }


def graph_json(job: JobDefinition) -> dict[str, Any]:
    """The job's ops and the edges between them."""
    nodes = []
    for node in job.graph.nodes.values():
        op = node.op
        nodes.append(
            {
                "name": node.name,
                "op": op.name,
                "description": op.description,
                "tags": dict(op.tags),
                "inputs": list(node.inputs),
                "outputs": list(op.outs),
                "input_types": {name: spec.type_name for name, spec in op.ins.items()},
                "output_types": {name: spec.type_name for name, spec in op.outs.items()},
                "config_schema": _config_json_schema(op),
            }
        )
    edges = [
        {
            "from_node": e.from_node,
            "from_output": e.from_output,
            "to_node": e.to_node,
            "to_input": e.to_input,
        }
        for e in job.graph.edges
    ]
    return {"nodes": nodes, "edges": edges}


def _config_json_schema(op: OpDefinition) -> dict[str, Any] | None:
    if op.config_schema is not None:
        return op.config_schema.json_schema()
    return op.config_type.model_json_schema() if op.config_type else None


def partitions_json(
    job: JobDefinition, current_time: datetime | None = None
) -> dict[str, Any] | None:
    """The job's partitions at ``current_time`` (default now): what they are, how many,
    and the newest keys."""
    partitions = job.partitions_def
    if partitions is None:
        return None
    keys = partitions.get_partition_keys(current_time)
    return {
        "description": partitions.describe(),
        "count": len(keys),
        "keys": keys[-MAX_PARTITION_KEYS:],
    }

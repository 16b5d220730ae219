"""Turning a request to run a job into a validated, not yet stored :class:`Run`.

Everything a user can get wrong is checked here, before anything is stored: tags, run
config, op selection and partition key. Tags merge in the order job -> schedule/sensor
-> launch -> system (later wins).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.job import JobDefinition
from dagwright.definitions.loader import code_pointer_for
from dagwright.definitions.partitioned_config import default_run_config
from dagwright.definitions.partitions import PartitionsDefinition
from dagwright.errors import DagwrightInvalidConfigError, DagwrightInvalidPartitionError
from dagwright.execution.executors import EXECUTION_KEY, check_execution_config
from dagwright.execution.plan import ExecutionPlan, build_plan, resolve_selection
from dagwright.jsonvalue import find_problem
from dagwright.runs.models import Run, RunStatus
from dagwright.tags import (
    GIT_COMMIT_TAG,
    K8S_CONFIG_TAG,
    OP_SELECTION_TAG,
    PARTITION_TAG,
    merge_tags,
    normalize_tags,
)

_OPS_KEY = "ops"

#: How deep run config may nest (``{"ops": {"load": {"config": {}}}}`` is 4): it is stored
#: as JSON inside the run's body, and orjson writes at most 254 levels.
MAX_CONFIG_DEPTH = 200


@dataclass(frozen=True)
class PreparedRun:
    """A validated run, not yet stored, with its plan and each op's config.

    Attributes:
        run: the run record to store.
        plan: the steps to execute.
        op_configs: each planned op's config object.
        loaded: outputs of steps not executed, read from run ``load_from`` before the
            first step (a re-execution from failure).
        load_from: the run whose stored outputs ``loaded`` are read from.
        reused: steps not executed because they succeeded in run ``load_from``.
        partitions_def: the job's partitions (for ``context.partition_time_window``).
    """

    run: Run
    plan: ExecutionPlan
    op_configs: Mapping[str, Any]
    loaded: frozenset[NodeOutput] = frozenset()
    load_from: str | None = None
    reused: frozenset[str] = frozenset()
    partitions_def: PartitionsDefinition | None = None


#: Namespace of the deterministic run ids of backfills, schedules and sensors.
RUN_ID_NAMESPACE = uuid.UUID("6f1c1f5e-3b0a-4c1e-9a57-5d8a2f0c9b11")


def origin_run_id(*parts: object) -> str:
    """A run id that is the same each time the same parts ask for it (uuid5)."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, "/".join(str(part) for part in parts)))


@dataclass(frozen=True)
class RunOrigin:
    """Who asked for a run, when it was not a user: a schedule, a sensor or a backfill.

    Attributes:
        run_id: the run's id, chosen by the caller so that asking twice (a tick evaluated
            again after a crash) names the same run; ``None``: a new random id.
        system_tags: tags only dagwright sets (``dagwright/schedule_name`` …), applied last.
    """

    run_id: str | None = None
    system_tags: Mapping[str, str] = field(default_factory=dict)


def _check_run_config(job: JobDefinition, run_config: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(run_config, Mapping):
        raise DagwrightInvalidConfigError("run_config", "must be a mapping")
    problem = find_problem(run_config, max_depth=MAX_CONFIG_DEPTH)
    if problem is not None:
        raise DagwrightInvalidConfigError("run_config", problem.rule, key=problem.path or None)
    unknown = set(run_config) - {_OPS_KEY, EXECUTION_KEY}
    if unknown:
        raise DagwrightInvalidConfigError(
            "run_config", f"unknown key {sorted(unknown)[0]!r} (allowed: ops, execution)"
        )
    if EXECUTION_KEY in run_config:
        check_execution_config(job.executor_def, run_config[EXECUTION_KEY])
    ops = run_config.get(_OPS_KEY) or {}
    if not isinstance(ops, Mapping):
        raise DagwrightInvalidConfigError("run_config", "must be a mapping of op names", key="ops")
    for name, entry in ops.items():
        if name not in job.graph.nodes:
            known = ", ".join(job.graph.nodes)
            raise DagwrightInvalidConfigError(
                "run_config", f"job {job.name!r} has no op {name!r} (ops: {known})", key="ops"
            )
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            raise DagwrightInvalidConfigError(
                f"op {name!r}", "expected {'config': {...}}", key=f"ops.{name}"
            )
    return ops


def resolve_op_configs(
    job: JobDefinition, run_config: Mapping[str, Any], step_keys: Sequence[str]
) -> dict[str, Any]:
    """Validate run config and build each planned op's config object.

    Raises:
        DagwrightInvalidConfigError: naming the op and field at fault.
    """
    ops = _check_run_config(job, run_config)
    configs: dict[str, Any] = {}
    for key in step_keys:
        node = job.graph.nodes[key]
        given = (ops.get(key) or {}).get("config")
        if not node.op.takes_config and not given:
            continue
        from dagwright.definitions.config import build_config

        configs[key] = build_config(node, given)
    return configs


def _check_partition(job: JobDefinition, partition_key: str | None) -> dict[str, str]:
    if partition_key is None:
        return {}
    if not isinstance(partition_key, str):
        raise DagwrightInvalidPartitionError(str(partition_key), job.name, "must be a string")
    if job.partitions_def is None:
        raise DagwrightInvalidPartitionError(partition_key, job.name, "the job is not partitioned")
    job.partitions_def.validate_key(partition_key, job.name)
    return {PARTITION_TAG: partition_key}


def _run_tags(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """The run's tags (``merge_tags``), with ``dagwright-k8s/config`` merged field by
    field across the layers that set it (DESIGN §9) rather than replaced, and checked."""
    tags = merge_tags(*layers)
    if K8S_CONFIG_TAG in tags:
        from dagwright.k8s.config import merged_config_tag

        tags[K8S_CONFIG_TAG] = merged_config_tag(
            [layer[K8S_CONFIG_TAG] for layer in layers if layer and K8S_CONFIG_TAG in layer]
        )
    return tags


def code_version_tags(job: JobDefinition) -> dict[str, str]:
    """``dagwright/git_commit`` of the job's code (its ``git_commit`` text metadata), if any."""
    commit = job.metadata.get("git_commit")
    value = getattr(commit, "value", None)
    return {GIT_COMMIT_TAG: value} if isinstance(value, str) and value else {}


def prepare_run(
    job: JobDefinition,
    *,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, object] | None = None,
    op_selection: Sequence[str] | None = None,
    partition_key: str | None = None,
    definition_tags: Mapping[str, str] | None = None,
    status: RunStatus = RunStatus.NOT_STARTED,
    origin: RunOrigin | None = None,
) -> PreparedRun:
    """Validate a run request and build the run (nothing is stored).

    Args:
        job: the job to run.
        run_config: the run's config; default: the job's ``config``.
        tags: launch tags (user tags: reserved keys other than control tags are refused).
        op_selection: ops to run; recorded in ``dagwright/op_selection``.
        partition_key: recorded in ``dagwright/partition``.
        definition_tags: tags from a schedule, sensor or RunRequest (already normalised).
        status: the status the run is created in.
        origin: the schedule, sensor or backfill that asked (its run id and system tags).

    Raises:
        DagwrightInvalidTagError, DagwrightInvalidConfigError, DagwrightInvalidPartitionError.
    """
    launch_tags = normalize_tags(tags)
    system_tags = _check_partition(job, partition_key)
    selected = None
    if op_selection is not None:
        selected = resolve_selection(job.graph, op_selection)
        system_tags[OP_SELECTION_TAG] = json.dumps(list(op_selection))
    plan = build_plan(job.graph, selected)
    if run_config is not None and not isinstance(run_config, Mapping):
        raise DagwrightInvalidConfigError("run_config", "must be a mapping")
    if run_config is not None:
        config = dict(run_config)
    else:
        config = default_run_config(job.config, partition_key)
    op_configs = resolve_op_configs(job, config, plan.step_keys)
    system_tags.update(code_version_tags(job))
    if origin is not None:
        system_tags.update(origin.system_tags)
    run = Run(
        run_id=(origin.run_id if origin is not None else None) or str(uuid.uuid4()),
        job_name=job.name,
        status=status,
        tags=_run_tags(job.tags, definition_tags, launch_tags, system_tags),
        run_config=config,
        op_selection=tuple(op_selection) if op_selection is not None else None,
        created_at=time.time(),
        code_pointer=code_pointer_for(job),
    )
    return PreparedRun(run, plan, op_configs, partitions_def=job.partitions_def)

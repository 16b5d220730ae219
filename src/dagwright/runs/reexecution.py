"""Re-execution: a new run of a finished run's job, of all its steps or from its failure.

``ALL_STEPS`` runs the parent's op selection again with the parent's run config.
``FROM_FAILURE`` runs only the steps that did not succeed in the parent (failed, skipped
or never started); the outputs they read from the other steps are loaded from the
parent's stored outputs. The child keeps the parent's user and control tags, its
partition and op selection, and gets ``dagwright/parent_run_id`` and
``dagwright/root_run_id``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.job import JobDefinition
from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightExecutionError,
    DagwrightInvalidTransitionError,
)
from dagwright.execution.events import Event, EventType
from dagwright.execution.plan import build_plan
from dagwright.runs.models import Run, RunStatus
from dagwright.runs.request import PreparedRun, prepare_run
from dagwright.tags import (
    K8S_CONFIG_TAG,
    OP_SELECTION_TAG,
    PARENT_RUN_ID_TAG,
    PARTITION_TAG,
    RETRY_NUMBER_TAG,
    RETRY_STRATEGY_TAG,
    ROOT_RUN_ID_TAG,
    is_system_tag,
    merge_tags,
    normalize_tags,
)

if TYPE_CHECKING:
    from dagwright.execution.outputs import OutputStore

#: System tags a child carries over from its parent, because they define what runs.
#: They are rebuilt from the parent's partition key and op selection, not copied.
KEPT_SYSTEM_TAGS: Final = frozenset({PARTITION_TAG, OP_SELECTION_TAG})

#: Key of the ENGINE event data in which a re-execution lists the steps it reused.
REUSED_STEPS_KEY: Final = "reused_steps"


def succeeded_steps(events: Sequence[Event]) -> set[str]:
    """Steps that succeeded in a run: those with STEP_SUCCESS, and those a re-execution
    from failure reused from its own parent (listed on its ENGINE event)."""
    done: set[str] = set()
    for event in events:
        if event.event_type is EventType.STEP_SUCCESS and event.step_key is not None:
            done.add(event.step_key)
        elif event.event_type is EventType.ENGINE and REUSED_STEPS_KEY in event.data:
            done.update(event.data[REUSED_STEPS_KEY])
    return done


def inherited_tags(parent: Run) -> dict[str, str]:
    """The parent's tags a child copies as they are: user and control tags."""
    return {key: value for key, value in parent.tags.items() if not is_system_tag(key)}


def _check_parent(job: JobDefinition, parent: Run, from_failure: bool) -> None:
    if job.name != parent.job_name:
        raise DagwrightCodeLoadError(
            f"run {parent.run_id!r} is a run of job {parent.job_name!r}, not {job.name!r}"
        )
    if not parent.status.is_finished:
        raise DagwrightInvalidTransitionError(parent.run_id, parent.status.value, "re-executed")
    if from_failure and parent.status is RunStatus.SUCCESS:
        raise DagwrightInvalidTransitionError(
            parent.run_id, parent.status.value, "re-executed from failure"
        )


def prepare_reexecution(
    job: JobDefinition,
    parent: Run,
    parent_events: Sequence[Event],
    *,
    from_failure: bool,
    tags: Mapping[str, object] | None,
    outputs: OutputStore,
) -> PreparedRun:
    """Validate a re-execution of ``parent`` and build the child run (nothing is stored).

    Args:
        job: the parent's job, loaded from its code pointer.
        parent: the run to re-execute.
        parent_events: its events (which steps succeeded).
        from_failure: ``FROM_FAILURE`` if true, else ``ALL_STEPS``.
        tags: launch tags, validated like any launch tags, merged over the parent's.
        outputs: the store holding the parent's outputs.

    Raises:
        DagwrightInvalidTransitionError: the parent is not finished, or it succeeded and
            ``from_failure`` is true.
        DagwrightExecutionError: from failure: no step failed, or a needed output of the
            parent is not stored (naming it).
        DagwrightInvalidTagError, DagwrightInvalidConfigError,
            DagwrightInvalidPartitionError: as for any new run.
    """
    _check_parent(job, parent, from_failure)
    inherited = inherited_tags(parent)
    k8s_config = inherited.pop(K8S_CONFIG_TAG, None)
    base = prepare_run(
        job,
        run_config=parent.run_config,
        tags=tags,
        op_selection=parent.op_selection,
        partition_key=parent.partition_key,
        definition_tags=inherited,
    )
    root = parent.root_run_id or parent.run_id
    lineage = {PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root}
    child_tags = merge_tags(base.run.tags, lineage)
    if k8s_config is not None:  # the parent's effective config (it holds the job's already)
        child_tags[K8S_CONFIG_TAG] = _child_k8s_config(k8s_config, normalize_tags(tags))
    run = replace(
        base.run,
        tags=child_tags,
        parent_run_id=parent.run_id,
        root_run_id=root,
    )
    prepared = replace(base, run=run)
    if not from_failure:
        return prepared
    return _from_failure(job, prepared, parent, succeeded_steps(parent_events), outputs)


def _child_k8s_config(parent_value: str, launch_tags: Mapping[str, str]) -> str:
    """The parent's ``dagwright-k8s/config`` with the child's launch tag merged over it."""
    from dagwright.k8s.config import merged_config_tag

    launch_value = launch_tags.get(K8S_CONFIG_TAG)
    return merged_config_tag([parent_value, *([launch_value] if launch_value else [])])


def _from_failure(
    job: JobDefinition,
    prepared: PreparedRun,
    parent: Run,
    succeeded: set[str],
    outputs: OutputStore,
) -> PreparedRun:
    selected = prepared.plan.step_keys
    reused = frozenset(key for key in selected if key in succeeded)
    to_run = [key for key in selected if key not in reused]
    if not to_run:
        raise DagwrightExecutionError(
            parent.run_id,
            f"every step of run {parent.run_id!r} succeeded: nothing to re-execute from "
            "failure (re-execute all steps instead)",
        )
    needed: dict[NodeOutput, str] = {}
    for step in prepared.plan.steps:
        if step.key in reused:
            continue
        for source in step.node.inputs.values():
            if isinstance(source, NodeOutput) and source.node in reused:
                needed.setdefault(source, step.key)
    for source, consumer in needed.items():
        if not outputs.has(parent.run_id, source):
            raise DagwrightExecutionError(
                parent.run_id,
                f"cannot re-execute run {parent.run_id!r} from failure: it has no stored "
                f"output {source.output!r} of op {source.node!r} (needed by op {consumer!r})",
            )
    return replace(
        prepared,
        run=replace(prepared.run, step_keys_to_execute=tuple(to_run)),
        plan=build_plan(job.graph, to_run, provided=needed),
        op_configs={k: v for k, v in prepared.op_configs.items() if k not in reused},
        loaded=frozenset(needed),
        load_from=parent.run_id,
        reused=reused,
    )


def retry_of(parent: Run, *, retry_number: int, from_failure: bool) -> Run:
    """Automatic retry ``retry_number`` of a failed run, made from the stored run alone:
    no code is loaded (the run worker, which loads the job anyway, plans its steps; see
    :func:`resumes_failure`).

    The child keeps the parent's user and control tags, partition and op selection, run
    config and code pointer, and gets ``dagwright/retry_number``,
    ``dagwright/retry_strategy`` (the one it was made with), ``dagwright/parent_run_id``
    and ``dagwright/root_run_id``.
    """
    root = parent.root_run_id or parent.run_id
    kept = {key: value for key, value in parent.tags.items() if key in KEPT_SYSTEM_TAGS}
    strategy = {RETRY_STRATEGY_TAG: "FROM_FAILURE" if from_failure else "ALL_STEPS"}
    system = {
        PARENT_RUN_ID_TAG: parent.run_id,
        ROOT_RUN_ID_TAG: root,
        RETRY_NUMBER_TAG: str(retry_number),
    }
    return Run(
        run_id=str(uuid.uuid4()),
        job_name=parent.job_name,
        status=RunStatus.NOT_STARTED,
        tags=merge_tags(inherited_tags(parent), strategy, kept, system),
        run_config=parent.run_config,
        op_selection=parent.op_selection,
        parent_run_id=parent.run_id,
        root_run_id=root,
        created_at=time.time(),
        code_pointer=parent.code_pointer,
    )


def resumes_failure(run: Run) -> bool:
    """Whether the worker prepares ``run`` from its parent's failure: a re-execution from
    failure (its steps are recorded), or an automatic retry made with ``FROM_FAILURE``,
    which falls back to all steps when the parent left nothing to resume from."""
    if run.parent_run_id is None:
        return False
    if run.step_keys_to_execute is not None:
        return True
    return RETRY_NUMBER_TAG in run.tags and run.tags.get(RETRY_STRATEGY_TAG) != "ALL_STEPS"

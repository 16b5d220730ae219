"""Executing one step: gather inputs, call the op, check and collect its outputs."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.op import In, OpDefinition, Out
from dagwright.definitions.output import Output
from dagwright.execution.context import OpExecutionContext
from dagwright.execution.plan import Step


class StepInputError(Exception):
    """An input or output value breaks its declared type (reported as a step failure)."""


class StepOutputError(Exception):
    """An op returned or yielded outputs that do not match the ones it declares."""


def _check_type(what: str, spec: In | Out, value: Any) -> None:
    expected = spec.type
    if (
        isinstance(expected, type)
        and expected not in (object, Any)
        and not isinstance(value, expected)
    ):
        raise StepInputError(
            f"{what} must be {expected.__name__}, got {type(value).__name__}: {value!r:.80}"
        )


def gather_inputs(step: Step, outputs: Mapping[NodeOutput, Any]) -> dict[str, Any]:
    """The values of the step's inputs: upstream outputs, or defaults when unconnected.

    Raises:
        StepInputError: a value breaks the input's declared type.
    """
    op_def = step.node.op
    values: dict[str, Any] = {}
    for name, spec in op_def.ins.items():
        source = step.node.inputs.get(name)
        if isinstance(source, NodeOutput) and source in outputs:
            value = outputs[source]
        else:
            value = spec.default_value
        _check_type(f"input {name!r}", spec, value)
        values[name] = value
    return values


def call_op(op_def: OpDefinition, context: OpExecutionContext, inputs: dict[str, Any]) -> Any:
    """Call the op's function with context, config and inputs as it declares them."""
    if op_def.config_param is not None:
        inputs = {**inputs, op_def.config_param: context.op_config}
    if op_def.takes_context:
        return op_def.fn(context, **inputs)
    return op_def.fn(**inputs)


@dataclass(frozen=True)
class StepOutputs:
    """What a step produced: the values by output, and the metadata of those that have any
    (JSON form, ``{output: {key: {"type", "value"}}}``)."""

    values: dict[NodeOutput, Any]
    metadata: dict[str, dict[str, Any]]


def split_outputs(step: Step, returned: Any) -> StepOutputs:
    """Map what the op returned (a value, a tuple, an :class:`Output`) or yielded (one
    ``Output`` per output, in any order) onto its declared outputs.

    Raises:
        StepInputError: a value breaks its output's declared type.
        StepOutputError: an output is missing, unknown or given twice, or the number of
            returned values does not match.
    """
    op_def = step.node.op
    given = _given_outputs(op_def, returned)
    missing = [name for name in op_def.outs if name not in given]
    if missing:
        raise StepOutputError(
            f"op {op_def.name!r} did not return or yield its required output "
            + ", ".join(repr(name) for name in missing)
        )
    values: dict[NodeOutput, Any] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for name, spec in op_def.outs.items():
        output = given[name]
        _check_type(f"output {name!r}", spec, output.value)
        values[NodeOutput(step.key, name)] = output.value
        if output.metadata:
            metadata[name] = output.metadata_json()
    return StepOutputs(values, metadata)


def _given_outputs(op_def: OpDefinition, returned: Any) -> dict[str, Output]:
    outs = op_def.outs
    if inspect.isgeneratorfunction(op_def.fn):
        items = list(returned)
        if any(not isinstance(item, Output) for item in items):
            bad = next(type(i).__name__ for i in items if not isinstance(i, Output))
            raise StepOutputError(f"op {op_def.name!r} yielded a {bad}; an op yields Output(...)")
    elif isinstance(returned, Output):
        items = [returned]
    elif len(outs) == 1:
        items = [Output(returned, next(iter(outs)))]
    elif isinstance(returned, tuple) and len(returned) == len(outs):
        pairs = zip(outs, returned, strict=True)
        items = [v if isinstance(v, Output) else Output(v, n) for n, v in pairs]
    else:
        raise StepOutputError(
            f"op {op_def.name!r} declares {len(outs)} outputs ({', '.join(outs)}); return a "
            "tuple of that length or yield one Output(value, name) per output"
        )
    given: dict[str, Output] = {}
    for item in items:
        if item.output_name not in outs:
            raise StepOutputError(
                f"op {op_def.name!r} has no output {item.output_name!r} "
                f"(its outputs: {', '.join(outs)})"
            )
        if item.output_name in given:
            raise StepOutputError(f"op {op_def.name!r} gave output {item.output_name!r} twice")
        given[item.output_name] = item
    return given


def error_info(exc: BaseException) -> dict[str, str]:
    """The JSON form of an error stored on a STEP_FAILURE or RUN_FAILURE event."""
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }

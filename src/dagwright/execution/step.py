"""Executing one step: gather inputs, call the op, check and collect its outputs."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from dagwright.definitions.composition import NodeOutput
from dagwright.definitions.op import In, OpDefinition, Out
from dagwright.execution.context import OpExecutionContext
from dagwright.execution.plan import Step


class StepInputError(Exception):
    """An input or output value breaks its declared type (reported as a step failure)."""


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


def split_outputs(step: Step, returned: Any) -> dict[NodeOutput, Any]:
    """Map what the op returned onto its declared outputs.

    Raises:
        StepInputError: the number or types of returned values do not match.
    """
    outs = step.node.op.outs
    if len(outs) == 1:
        values = (returned,)
    elif isinstance(returned, tuple) and len(returned) == len(outs):
        values = returned
    else:
        raise StepInputError(
            f"op declares {len(outs)} outputs ({', '.join(outs)}); return a tuple of that length"
        )
    result = {}
    for (name, spec), value in zip(outs.items(), values, strict=True):
        _check_type(f"output {name!r}", spec, value)
        result[NodeOutput(step.key, name)] = value
    return result


def error_info(exc: BaseException) -> dict[str, str]:
    """The JSON form of an error stored on a STEP_FAILURE or RUN_FAILURE event."""
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }

"""Tests for dagwright.execution.step: what an op returns or yields becomes its outputs
(values, ``Output`` objects with metadata), and mismatches fail the step by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dagwright import EventType, ExecuteInProcessResult, MetadataValue, Out, Output, job, op


def _step_event(result: ExecuteInProcessResult, kind: EventType, step: str) -> Any:
    return next(e for e in result.all_events if e.event_type is kind and e.step_key == step)


@op(out={"low": Out(int), "high": Out(int)})
def split() -> Iterator[Output]:
    yield Output(9, "high", metadata={"rows": 9})
    yield Output(1, output_name="low")


@op
def total(a: int, b: int) -> Output:
    return Output(a + b, metadata={"docs": MetadataValue.url("https://example.com/t")})


@job
def yielded() -> None:
    low, high = split()
    total(low, high)


def test_outputs_yielded_in_any_order_reach_their_consumers() -> None:
    result = yielded.execute_in_process()
    assert result.output_for_node("split", "low") == 1
    assert result.output_for_node("split", "high") == 9
    assert result.output_for_node("total") == 10


def test_output_metadata_is_recorded_on_step_success_as_typed_json() -> None:
    result = yielded.execute_in_process()
    split_done = _step_event(result, EventType.STEP_SUCCESS, "split")
    assert split_done.data["outputs"] == ["low", "high"]
    assert split_done.data["output_metadata"] == {"high": {"rows": {"type": "int", "value": 9}}}
    total_done = _step_event(result, EventType.STEP_SUCCESS, "total")
    assert total_done.data["output_metadata"] == {
        "result": {"docs": {"type": "url", "value": "https://example.com/t"}}
    }


def test_a_step_without_metadata_records_none() -> None:
    @op
    def plain() -> int:
        return 1

    @job
    def quiet() -> None:
        plain()

    done = _step_event(quiet.execute_in_process(), EventType.STEP_SUCCESS, "plain")
    assert "output_metadata" not in done.data


def test_a_tuple_may_mix_values_and_outputs() -> None:
    @op(out={"a": Out(), "b": Out()})
    def both() -> tuple[Any, Any]:
        return 1, Output(2, "b", metadata={"n": 2})

    @job
    def mixed() -> None:
        both()

    result = mixed.execute_in_process()
    assert (result.output_for_node("both", "a"), result.output_for_node("both", "b")) == (1, 2)


def _yields(*items: Any) -> Any:
    @op(out={"a": Out(int), "b": Out(int)})
    def pair() -> Iterator[Any]:
        yield from items

    return pair


def _returns(value: Any) -> Any:
    @op(out=Out(int))
    def pair() -> Any:
        return value

    return pair


BAD_OUTPUTS = [
    (_yields(Output(1, "a")), "op 'pair' did not return or yield its required output 'b'"),
    (_yields(), "did not return or yield its required output 'a', 'b'"),
    (_yields(Output(1, "a"), Output(2, "c")), "op 'pair' has no output 'c' (its outputs: a, b)"),
    (_yields(Output(1, "a"), Output(2, "a")), "op 'pair' gave output 'a' twice"),
    (_yields(Output(1, "a"), 2), "op 'pair' yielded a int; an op yields Output(...)"),
    (_yields(Output("x", "a"), Output(2, "b")), "output 'a' must be int, got str"),
    (_returns(Output(1, "total")), "op 'pair' has no output 'total' (its outputs: result)"),
    (_returns(Output("one")), "output 'result' must be int, got str"),
]


@pytest.mark.parametrize(("the_op", "message"), BAD_OUTPUTS)
def test_outputs_that_do_not_match_the_declared_ones_fail_the_step(
    the_op: Any, message: str
) -> None:
    @job
    def broken() -> None:
        the_op()

    result = broken.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = _step_event(result, EventType.STEP_FAILURE, "pair")
    assert message in failure.message
    assert "op 'pair' failed" in failure.message


def test_bad_output_metadata_fails_the_step_naming_the_key() -> None:
    @op
    def odd() -> Output:
        return Output(1, metadata={"when": object()})

    @job
    def broken() -> None:
        odd()

    result = broken.execute_in_process(raise_on_error=False)
    assert "'when'" in _step_event(result, EventType.STEP_FAILURE, "odd").message


def test_a_plain_generator_returned_by_a_plain_function_is_a_value() -> None:
    @op
    def lazy() -> Any:
        return (n for n in range(3))

    @job
    def gen() -> None:
        lazy()

    assert list(gen.execute_in_process().output_for_node("lazy")) == [0, 1, 2]

"""Jobs whose ops tag their own run (``context.add_run_tags``), in process, in a launched
worker and in multiprocess step workers."""

from __future__ import annotations

from dagwright import OpExecutionContext, job, multiprocess_executor, op


@op
def count_rows(context: OpContext) -> int:
    context.add_run_tags({"rows": 1200, "stage": "counted"})
    assert context.run.tags["rows"] == "1200"
    return 1200


@op
def finish(context: OpContext, rows: int) -> None:
    assert context.get_tag("stage") == "counted"  # a later step sees the change
    context.remove_run_tags(["stage"])
    context.add_run_tags({"done": rows})


OpContext = OpExecutionContext


@job
def tagged() -> None:
    finish(count_rows())


@job(executor_def=multiprocess_executor)
def tagged_multiprocess() -> None:
    finish(count_rows())

"""Code location ``ml`` of the example workspace (the module ``team_ml.jobs``): another job
named ``nightly``, and a daily schedule of it."""

from __future__ import annotations

from dagwright import Definitions, ScheduleDefinition, job, op


@op
def train_model() -> str:
    return "model-1"


@job(tags={"team": "ml"})
def nightly() -> None:
    train_model()


nightly_training = ScheduleDefinition(
    name="nightly_training", cron_schedule="0 3 * * *", job=nightly
)

defs = Definitions(jobs=[nightly], schedules=[nightly_training])

"""The Celery executor's coordinator: the run worker of a Celery run.

As with the multiprocess executor, the run worker writes RUN_START, then sends each step
whose upstream steps all succeeded (as a ``dagwright.execute_step`` task carrying ids
only, to the step's queue with the step's priority: :mod:`dagwright.celery.config`), and
follows the steps' ends in storage; it skips the steps downstream of a failure and ends
the run. A step that cannot be sent (the broker is down past ``celery.publish_retries``)
fails with the reason, so the run fails and never hangs. A step whose worker died
(:func:`~dagwright.celery.claims.claimant_alive`) and that no other worker took over is
sent again, once per attempt, whatever the broker's redelivery does (a Redis broker
redelivers only after its visibility timeout); the worker that gets it takes the step
over, or fails it once it used up ``celery.step_attempts``. When the run is terminated
(SIGTERM), the coordinator revokes its unfinished tasks, stopping those that run.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

from dagwright.celery.app import STEP_TASK, make_app
from dagwright.celery.claims import claimant_alive
from dagwright.celery.config import CeleryConfig, broker_priority, step_route
from dagwright.errors import DagwrightExecutionError
from dagwright.execution.events import EventType
from dagwright.execution.in_process import InProcessExecution
from dagwright.execution.plan import Step
from dagwright.execution.step import error_info
from dagwright.tags import FAILURE_REASON_TAG

if TYPE_CHECKING:
    from celery import Celery

    from dagwright.execution.executors import ExecutorDefinition
    from dagwright.instance import Instance
    from dagwright.runs.request import PreparedRun

#: Seconds between two reads of the steps' ends.
POLL_SECONDS: Final = 0.05

#: Seconds between two looks for steps whose worker died.
WATCH_SECONDS: Final = 1.0


def _safe_url(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


class CeleryExecution(InProcessExecution):
    """Executes a prepared run's steps as Celery tasks (see the module docstring).

    Args:
        instance: the run's instance (its ``celery:`` settings give the broker).
        prepared: the run and its plan.
        executor: the job's executor definition (its options win over the settings).
    """

    def __init__(
        self, instance: Instance, prepared: PreparedRun, executor: ExecutorDefinition | None
    ) -> None:
        super().__init__(instance, prepared)
        from dagwright.celery.definition import CeleryExecutorDefinition

        definition = executor if isinstance(executor, CeleryExecutorDefinition) else None
        self.config = CeleryConfig.resolve(instance.settings.celery, definition)
        self._app: Celery | None = None
        self.sent: dict[str, str] = {}  # step key -> task id, of steps not ended yet
        self._resent: dict[str, int] = {}  # step key -> the attempt whose death sent it again
        self._host = socket.gethostname()

    @property
    def app(self) -> Celery:
        """The Celery app on the run's broker (made on first use)."""
        if self._app is None:
            self._app = make_app(self.config)
        return self._app

    def execute_steps(self) -> set[str]:
        """Send the steps as they get ready and follow their ends; the keys of those
        that did not succeed."""
        try:
            return self._coordinate()
        except BaseException:
            self._revoke_unfinished()
            raise
        finally:
            if self._app is not None:
                self._app.close()

    def _coordinate(self) -> set[str]:
        pending = list(self.plan.steps)
        succeeded: set[str] = set()
        not_done: set[str] = set()
        while pending or self.sent:
            pending = self._send_ready(pending, succeeded, not_done)
            if not self.sent:
                break
            for step_key, ended in self._wait_for_ends().items():
                del self.sent[step_key]
                (succeeded if ended == EventType.STEP_SUCCESS.value else not_done).add(step_key)
        return not_done

    def _wait_for_ends(self) -> dict[str, str]:
        """The sent steps that ended since the last look (waits until one did)."""
        steps = self.instance.records.steps
        watched = time.monotonic()
        while True:
            ended = steps.ended_steps(self.run.run_id)
            found = {key: ended[key] for key in self.sent if key in ended}
            if found:
                return found
            if time.monotonic() - watched >= WATCH_SECONDS:
                self._resend_orphans(ended)
                watched = time.monotonic()
            time.sleep(POLL_SECONDS)

    def _resend_orphans(self, ended: dict[str, str]) -> None:
        """Send again each step whose claimant died (once per attempt)."""
        claims = self.instance.records.steps.claims(self.run.run_id)
        now = time.time()
        for step_key, claim in claims.items():
            if step_key not in self.sent or step_key in ended:
                continue
            if self._resent.get(step_key) == claim.attempt:
                continue
            if claimant_alive(claim, host=self._host, now=now):
                continue
            self._resent[step_key] = claim.attempt
            step = next(s for s in self.plan.steps if s.key == step_key)
            self.emit(
                EventType.ENGINE,
                step_key,
                f"{claim.describe()} died executing the step (attempt {claim.attempt}):"
                " sending it again",
                data={"dead_worker": claim.worker, "attempt": claim.attempt},
            )
            self._send(step)  # if it fails, the step's failure ends it on the next look

    def _send_ready(
        self, pending: list[Step], succeeded: set[str], not_done: set[str]
    ) -> list[Step]:
        """Skip the blocked steps and send the ready ones; the steps still waiting."""
        waiting = []
        for step in pending:
            if self.skip_if_blocked(step, not_done):
                not_done.add(step.key)
            elif set(step.upstream) <= succeeded:
                if not self._send(step):
                    not_done.add(step.key)
            else:
                waiting.append(step)
        return waiting

    def _send(self, step: Step) -> bool:
        """Send one step's task; false (the step failed) if the broker cannot be reached."""
        route = step_route(self.config, step.node.op.tags, self.run.tags)
        priority = broker_priority(route.priority, redis=self.config.is_redis)
        task_id = uuid.uuid4().hex
        pointer = self.run.code_pointer.to_json() if self.run.code_pointer else {}
        try:
            self.app.send_task(
                STEP_TASK,
                args=[self.run.run_id, step.key, pointer, route.queue],
                task_id=task_id,
                queue=route.queue,
                priority=priority,
                retry=True,
                retry_policy=self._retry_policy(),
            )
        except Exception as exc:  # kombu/redis/amqp connection errors: the broker is down
            self._send_failed(step, exc)
            return False
        self.sent[step.key] = task_id
        self.emit(
            EventType.ENGINE,
            step.key,
            f"sent step to Celery queue {route.queue!r} (priority {route.priority},"
            f" broker priority {priority})",
            data={"celery_queue": route.queue, "priority": route.priority, "task_id": task_id},
        )
        return True

    def _retry_policy(self) -> dict[str, Any]:
        return {
            "max_retries": self.config.publish_retries,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        }

    def _send_failed(self, step: Step, exc: Exception) -> None:
        reason = (
            f"could not send step {step.key!r} to the Celery broker at"
            f" {_safe_url(self.config.broker_url)} after {self.config.publish_retries} retries:"
            f" {type(exc).__name__}: {exc}"
        )
        with contextlib.suppress(Exception):
            self.instance.set_system_tags(self.run.run_id, {FAILURE_REASON_TAG: reason})
        self.emit(
            EventType.STEP_FAILURE,
            step.key,
            f"op {step.key!r} failed: {reason}",
            level="ERROR",
            data={"error": error_info(DagwrightExecutionError(self.run.run_id, reason))},
        )

    def _revoke_unfinished(self) -> None:
        """Revoke the tasks of the steps that have not ended; those running are stopped."""
        if not self.sent or self._app is None:
            return
        with contextlib.suppress(Exception):  # a broker that is down cannot be told
            self._app.control.revoke(list(self.sent.values()), terminate=True, signal="SIGTERM")

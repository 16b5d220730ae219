"""The Celery app of dagwright: one per process, built from a :class:`CeleryConfig`.

Both sides use it: the coordinator sends ``dagwright.execute_step`` tasks by name, the
worker registers the task (:mod:`dagwright.celery.tasks`). Settings that make a step
survive a worker's death: late acknowledgement, rejection (so redelivery) when the
worker process is lost, one message prefetched per process, JSON only (tasks carry ids,
never pickled objects). Redis gets ten priority lists served in priority order and a
visibility timeout; RabbitMQ queues are declared with ``x-max-priority`` 10.
"""

from __future__ import annotations

from typing import Final

from celery import Celery

from dagwright.celery.config import AMQP_MAX_PRIORITY, REDIS_MAX_PRIORITY, CeleryConfig

#: The name of the task that executes one step.
STEP_TASK: Final = "dagwright.execute_step"

#: Seconds to wait for a broker connection before an attempt fails.
CONNECT_TIMEOUT: Final = 4.0


def _transport_options(config: CeleryConfig) -> dict[str, object]:
    if not config.is_redis:
        return {}
    return {
        "visibility_timeout": config.visibility_timeout,
        "queue_order_strategy": "priority",
        "priority_steps": list(range(REDIS_MAX_PRIORITY + 1)),
        "sep": ":",
    }


def make_app(config: CeleryConfig) -> Celery:
    """A Celery app on ``config``'s broker, without a result backend (steps write their
    results to the run store)."""
    app = Celery("dagwright", broker=config.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # a broker blip must not kill running steps: their late acks are then lost and the
        # broker redelivers them, and the redelivery finds the step ended (or running)
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_default_queue=config.default_queue,
        task_queue_max_priority=None if config.is_redis else AMQP_MAX_PRIORITY,
        broker_transport_options=_transport_options(config),
        broker_connection_timeout=CONNECT_TIMEOUT,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app

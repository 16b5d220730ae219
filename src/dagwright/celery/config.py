"""What a Celery run needs to know, resolved once, and the pure rules of routing.

:class:`CeleryConfig` merges the executor's options over the instance's ``celery:``
settings. :func:`step_route` gives a step its queue and priority from tags;
:func:`broker_priority` maps dagwright's priority (higher runs sooner, on every broker)
onto the broker's own scale and direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from dagwright.tags import CELERY_PRIORITY_TAG, CELERY_QUEUE_TAG, CELERY_RUN_PRIORITY_TAG, tag_int

if TYPE_CHECKING:
    from dagwright.celery.definition import CeleryExecutorDefinition
    from dagwright.settings import CelerySettings

#: The broker used when neither the executor nor ``celery.broker_url`` names one.
DEFAULT_BROKER_URL: Final = "redis://127.0.0.1:6379/0"

#: The highest priority on each broker family: Redis has 10 priority lists (0-9),
#: RabbitMQ queues are declared with ``x-max-priority`` 10.
REDIS_MAX_PRIORITY: Final = 9
AMQP_MAX_PRIORITY: Final = 10


@dataclass(frozen=True)
class CeleryConfig:
    """The broker and defaults of Celery runs (see :class:`~dagwright.settings.CelerySettings`)."""

    broker_url: str = DEFAULT_BROKER_URL
    default_queue: str = "dagwright"
    default_priority: int = 5
    visibility_timeout: float = 3600.0
    step_attempts: int = 2
    publish_retries: int = 3

    @classmethod
    def resolve(
        cls,
        settings: CelerySettings | None,
        executor: CeleryExecutorDefinition | None = None,
    ) -> CeleryConfig:
        """The executor's options over the settings over the defaults."""
        config = cls()
        if settings is not None:
            config = cls(
                settings.broker_url or config.broker_url,
                settings.default_queue,
                settings.default_priority,
                settings.visibility_timeout,
                settings.step_attempts,
                settings.publish_retries,
            )
        if executor is None:
            return config
        return cls(
            executor.broker_url or config.broker_url,
            executor.default_queue or config.default_queue,
            config.default_priority
            if executor.default_priority is None
            else executor.default_priority,
            config.visibility_timeout,
            config.step_attempts,
            config.publish_retries,
        )

    @property
    def is_redis(self) -> bool:
        """Whether the broker is Redis (else RabbitMQ, over AMQP)."""
        return self.broker_url.startswith(("redis://", "rediss://"))


@dataclass(frozen=True)
class StepRoute:
    """Where a step's task goes.

    Attributes:
        queue: the Celery queue.
        priority: dagwright's priority (higher runs sooner), before clamping.
    """

    queue: str
    priority: int


def step_route(
    config: CeleryConfig, op_tags: Mapping[str, str], run_tags: Mapping[str, str]
) -> StepRoute:
    """The queue (the op's tag, else the run's, which includes the job's, else the
    default) and the priority (the op's tag or the default, plus the run's
    ``dagwright-celery/run_priority``) of a step."""
    queue = op_tags.get(CELERY_QUEUE_TAG) or run_tags.get(CELERY_QUEUE_TAG) or config.default_queue
    priority = tag_int(op_tags, CELERY_PRIORITY_TAG, config.default_priority)
    return StepRoute(queue, priority + tag_int(run_tags, CELERY_RUN_PRIORITY_TAG, 0))


def broker_priority(priority: int, *, redis: bool) -> int:
    """The task priority a broker gets for dagwright's ``priority``: clamped to 0-9 and
    reversed on Redis (Celery's Redis transport serves 0 first), clamped to 0-10 on
    RabbitMQ (which serves the highest first)."""
    if redis:
        return REDIS_MAX_PRIORITY - min(max(priority, 0), REDIS_MAX_PRIORITY)
    return min(max(priority, 0), AMQP_MAX_PRIORITY)

"""Routing rules of Celery steps: queue, priority, broker scales (pure)."""

from __future__ import annotations

import pytest

from dagwright.celery import celery_executor
from dagwright.celery.config import CeleryConfig, broker_priority, step_route
from dagwright.settings import CelerySettings

Q, P, RP = "dagwright-celery/queue", "dagwright-celery/priority", "dagwright-celery/run_priority"


@pytest.mark.parametrize(
    ("op_tags", "run_tags", "queue", "priority"),
    [
        ({}, {}, "dagwright", 5),
        ({Q: "gpu"}, {}, "gpu", 5),
        ({}, {Q: "etl"}, "etl", 5),
        ({Q: "gpu"}, {Q: "etl"}, "gpu", 5),  # the op's own tag wins
        ({P: "7"}, {}, "dagwright", 7),
        ({P: "7"}, {RP: "2"}, "dagwright", 9),
        ({}, {RP: "-3"}, "dagwright", 2),
        ({P: "-20"}, {RP: "4"}, "dagwright", -16),  # clamped later, per broker
    ],
)
def test_step_route(
    op_tags: dict[str, str], run_tags: dict[str, str], queue: str, priority: int
) -> None:
    route = step_route(CeleryConfig(), op_tags, run_tags)
    assert (route.queue, route.priority) == (queue, priority)


@pytest.mark.parametrize(
    ("priority", "redis", "amqp"),
    [(-16, 9, 0), (0, 9, 0), (1, 8, 1), (5, 4, 5), (9, 0, 9), (10, 0, 10), (99, 0, 10)],
)
def test_broker_priority_runs_higher_sooner_on_both_brokers(
    priority: int, redis: int, amqp: int
) -> None:
    assert broker_priority(priority, redis=True) == redis  # Redis serves 0 first
    assert broker_priority(priority, redis=False) == amqp  # RabbitMQ serves 10 first


def test_executor_options_win_over_settings_over_defaults() -> None:
    assert CeleryConfig.resolve(None) == CeleryConfig()
    settings = CelerySettings(broker_url="amqp://h//", default_queue="etl", default_priority=3)
    from_settings = CeleryConfig.resolve(settings)
    assert (from_settings.broker_url, from_settings.default_queue) == ("amqp://h//", "etl")
    assert not from_settings.is_redis
    executor = celery_executor.configured(default_priority=8)
    both = CeleryConfig.resolve(settings, executor)
    assert (both.broker_url, both.default_queue, both.default_priority) == (
        "amqp://h//",
        "etl",
        8,
    )
    assert CeleryConfig.resolve(None, executor.configured(broker_url="redis://x/2")).is_redis

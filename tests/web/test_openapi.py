"""Schemathesis against the OpenAPI document of ``/api/v1``: generated requests (valid and
invalid) never get a server error, and answers match the documented shapes.

Bounded (25 valid and 25 invalid requests per operation, no shrinking) so it stays quick.
The app runs over an instance holding a few runs, so some generated ids hit real ones.
Every check runs but ``positive_data_acceptance``: a request can fit the document and still
break a rule the document does not spell out (a tag key's shape, a cursor naming no run),
and that is a 422 by design.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from tests.web.conftest import web_definitions

from dagwright import Instance, Run, RunStatus
from dagwright.web.app import create_app

#: Generated requests per operation and mode.
EXAMPLES = 25


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The API's schema, loaded from the app (an instance with two stored runs)."""
    home: Path = tmp_path_factory.mktemp("openapi") / "home"
    with Instance.from_home(home) as instance:
        now = time.time()
        instance.storage.runs.add_runs(
            [
                Run("run-1", "documented", RunStatus.SUCCESS, {"team": "docs"}, created_at=now),
                Run("run-2", "flaky", RunStatus.QUEUED, {"team": "ml"}, created_at=now + 1),
            ]
        )
        app = create_app(instance, web_definitions())
        yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", _loopback(app))


def _loopback(app: Any) -> Any:
    """The app as reached through 127.0.0.1 (the test client names its host 'testserver')."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope = {**scope, "headers": [*headers, (b"host", b"127.0.0.1")]}
        await app(scope, receive, send)

    return asgi


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_matches_its_openapi_document(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 40  # 34, queue controls and tag history (4), tag stats, run diff
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Unsatisfiable:
            # no invalid request exists for an operation with no parameters and no body
            assert mode is GenerationMode.NEGATIVE, operation.label

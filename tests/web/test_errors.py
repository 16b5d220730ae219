"""Tests for dagwright.web.errors: shaping errors for the client."""

from __future__ import annotations

from enum import Enum

import pytest

from dagwright.runs.backfills import BackfillStatus
from dagwright.runs.models import RunStatus
from dagwright.web.errors import ApiError, is_api_path, parse_choice


@pytest.mark.parametrize(
    ("choices", "text", "expected"),
    [
        (RunStatus, "SUCCESS", RunStatus.SUCCESS),
        (RunStatus, "success", RunStatus.SUCCESS),
        (BackfillStatus, "Canceled", BackfillStatus.CANCELED),
    ],
)
def test_parse_choice_takes_a_value_in_any_case(
    choices: type[Enum], text: str, expected: Enum
) -> None:
    assert parse_choice(choices, text, "status") is expected


@pytest.mark.parametrize("choices", [RunStatus, BackfillStatus])
def test_parse_choice_refuses_an_unknown_value_naming_the_field_and_the_values(
    choices: type[Enum],
) -> None:
    with pytest.raises(ApiError) as caught:
        parse_choice(choices, "DONE", "status")
    error = caught.value
    assert (error.status, error.type, error.field) == (422, "invalid_request", "status")
    assert error.rule == "one of " + ", ".join(choice.value for choice in choices)


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/api/v1", True),
        ("/api/v1/runs", True),
        ("/api/v1/openapi.json", True),
        ("/api/v1x", False),
        ("/runs", False),
        ("/", False),
    ],
)
def test_api_paths_are_those_under_the_api_prefix(path: str, api: bool) -> None:
    assert is_api_path(path) is api


def test_an_error_body_echoing_text_utf8_cannot_hold_can_always_be_sent() -> None:
    import json

    error = ApiError(422, "invalid_tag", "tags", "bad \ud800", "tag '\\ud800': bad", "\ud800")
    body = error.body()
    json.dumps(body, ensure_ascii=False).encode("utf-8")
    assert body["error"]["key"] == "\\ud800"
    assert body["error"]["field"] == "tags"
    assert body["error"]["rule"] == "bad \\ud800"

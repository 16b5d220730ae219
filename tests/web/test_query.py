"""The runs page's filter, written to and read from the URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from dagwright import RunStatus
from dagwright.web.query import RunsQuery


def _params(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_chips_add_and_remove_filters_and_reset_the_page() -> None:
    query = RunsQuery(statuses=(RunStatus.SUCCESS,), cursor="abc")
    added = query.with_tag("team", "a=b")
    assert _params(added) == [("tag", "team=a=b"), ("status", "SUCCESS")]
    again = RunsQuery.parse([("team", "a=b")], [RunStatus.SUCCESS], None, False, None)
    assert again.with_tag("team", "a=b") == again.url()  # already filtered: unchanged
    assert _params(again.without_tag("team", "a=b")) == [("status", "SUCCESS")]
    assert again.runs_filter().tags == {"team": ["a=b"]}


def test_toggle_and_pagination_keep_the_filter() -> None:
    query = RunsQuery(tags=(("team", "docs"),), job="daily")
    assert _params(query.toggled_system()) == [("tag", "team=docs"), ("job", "daily"),
                                               ("system", "1")]  # fmt: skip
    assert _params(query.next_page("r9"))[-1] == ("cursor", "r9")
    assert RunsQuery().url() == "/runs"

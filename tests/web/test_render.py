"""How values look on the pages."""

from __future__ import annotations

import pytest

from dagwright.web.query import RunsQuery
from dagwright.web.render import (
    chip_html,
    chips_html,
    duration,
    is_hidden_key,
    markdown_html,
    relative_time,
    safe_url,
    table_columns,
    visible_tags,
)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<div onclick="alert(1)">x</div>',
        "<iframe src='https://evil.example'></iframe>",
        '<svg onload="alert(1)"></svg>',
        "<style>body{display:none}</style>",
    ],
)
def test_markdown_is_sanitised(source: str) -> None:
    html = str(markdown_html(source)).lower()
    for banned in ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<style"):
        assert banned not in html.replace("[x](javascript:alert(1))", "")


def test_markdown_renders_and_links_open_safely() -> None:
    html = str(markdown_html("# Title\n\n*em* and [docs](https://a.example)"))
    assert "<h1>Title</h1>" in html and "<em>em</em>" in html
    assert 'href="https://a.example" target="_blank" rel="noopener noreferrer"' in html


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://a", True), ("http://a", True), ("mailto:a@b", True), ("javascript:x", False),
     (" JavaScript:x", False), ("data:text/html,x", False), ("file:///etc", False)],
)  # fmt: skip
def test_safe_url(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_hidden_keys_and_system_tags() -> None:
    assert is_hidden_key(".x") and is_hidden_key("team/.x") and not is_hidden_key("a.b")
    tags = {"team": "a", "dagwright/partition": "p", ".secret": "s", "dagwright/priority": "1"}
    assert visible_tags(tags, show_system=False) == {"team": "a", "dagwright/priority": "1"}
    assert ".secret" not in visible_tags(tags, show_system=True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.25, "250 ms"), (12.34, "12.3 s"), (245, "4 min 05 s"), (7380, "2 h 03 min")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_relative_time() -> None:
    assert relative_time(100.0, now=100.2) == "just now"
    assert relative_time(100.0, now=160.0) == "1 minute ago"
    assert relative_time(100.0, now=100.0 + 3 * 86400) == "3 days ago"
    assert relative_time(200.0, now=100.0) == "in 1 minute"


def test_table_columns_from_schema_or_records() -> None:
    assert table_columns({"records": [{"b": 1}], "schema": {"columns": [{"name": "a"}]}}) == ["a"]
    assert table_columns({"records": [{"b": 1}, {"c": 2, "b": 3}], "schema": None}) == ["b", "c"]


def test_a_chip_is_escaped_and_marks_system_tags() -> None:
    assert chip_html("team", "<d&o>") == (
        '<span class="chip" data-tag="team=&lt;d&amp;o&gt;"><span class="chip-key">team</span>'
        '<span class="chip-value">&lt;d&amp;o&gt;</span></span>'
    )
    assert chip_html("dagwright/partition", "p").startswith('<span class="chip chip-system"')


def test_chips_with_a_runs_query_link_to_it_filtered_by_each_tag() -> None:
    query = RunsQuery(tags=(("team", "docs"),))
    html = chips_html({"team": "docs", "env": "prod"}, query)
    active, other = html.removeprefix('<span class="chips">').split("</a> ")
    assert active.startswith('<a class="chip chip-active" href="/runs?tag=team%3Ddocs"')
    assert 'href="/runs?tag=team%3Ddocs&amp;tag=env%3Dprod"' in other
    assert chip_html("env", "prod", query) in html

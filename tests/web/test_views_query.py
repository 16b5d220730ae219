"""The runs page's query (``?q=``), columns (``?columns=``) and order (``?sort=``)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dagwright import Instance, Run, RunStatus


def _store(instance: Instance) -> None:
    runs = [
        Run("r-a", "documented", RunStatus.SUCCESS, {"team": "b", "dagwright/partition": "p1"},
            created_at=1.0, started_at=1.0, ended_at=50.0),
        Run("r-b", "documented", RunStatus.SUCCESS, {"team": "a", "dagwright/schedule_name": "n"},
            created_at=2.0, started_at=2.0, ended_at=3.0),
        Run("r-c", "documented", RunStatus.FAILURE, {"dagwright/backfill": "bf"}, created_at=3.0),
    ]  # fmt: skip
    instance.storage.runs.add_runs(runs)


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-run-id="([^"]+)"', html)


def test_the_query_filters_and_stays_in_the_box_and_links(
    client: TestClient, web_instance: Instance
) -> None:
    _store(web_instance)
    html = client.get("/runs", params={"q": "team:* -team:a"}).text
    assert _ids(html) == ["r-a"]
    assert 'value="team:* -team:a"' in html
    sorted_link = re.search(r'href="([^"]+)" data-sort="created"', html)
    assert sorted_link is not None and "q=team%3A%2A+-team%3Aa" in sorted_link.group(1)


def test_a_bad_query_is_shown_inline_with_the_text_kept(client: TestClient) -> None:
    response = client.get("/runs", params={"q": "team:(x"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "position 5" in response.text
    assert 'value="team:(x"' in response.text and 'aria-invalid="true"' in response.text
    assert "team:(x\n     ^</pre>" in response.text


def test_default_columns_are_the_partition_and_what_launched_the_run(
    client: TestClient, web_instance: Instance
) -> None:
    _store(web_instance)
    html = client.get("/runs").text
    assert re.findall(r'<th data-column="([^"]+)"', html) == ["dagwright/partition", "launched_by"]
    cells = re.findall(r'<td class="column" data-column="launched_by">([^<]*)</td>', html)
    assert cells == ["backfill bf", "schedule n", "user"]
    chosen = client.get("/runs", params={"columns": "team"}).text
    assert re.findall(r'<td class="column" data-column="team">([^<]*)</td>', chosen) == [
        "",
        "a",
        "b",
    ]
    assert 'name="columns" value="team"' in chosen  # kept when the filter form is sent


def test_sorting_by_a_tag_and_by_duration(client: TestClient, web_instance: Instance) -> None:
    _store(web_instance)
    assert _ids(client.get("/runs", params={"sort": "team"}).text) == ["r-b", "r-a", "r-c"]
    assert _ids(client.get("/runs", params={"sort": "-team"}).text) == ["r-a", "r-b", "r-c"]
    assert _ids(client.get("/runs", params={"sort": "duration"}).text) == ["r-b", "r-a", "r-c"]
    assert _ids(client.get("/runs", params={"sort": "created"}).text) == ["r-a", "r-b", "r-c"]
    html = client.get("/runs", params={"sort": "team", "columns": "team"}).text
    link = re.search(r'href="([^"]+)" data-sort="team">team ▲', html)
    assert link is not None and "sort=-team" in link.group(1)


def test_bad_columns_sort_and_offset_are_422(client: TestClient) -> None:
    assert client.get("/runs", params={"columns": "bad key"}).status_code == 422
    assert client.get("/runs", params={"sort": "-bad key"}).status_code == 422
    assert client.get("/runs", params={"sort": "team", "offset": "-1"}).status_code == 422

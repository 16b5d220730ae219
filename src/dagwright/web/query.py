"""The runs page's filter as it lives in the URL: ``/runs?tag=k=v&tag=…&status=&job=``.

Every link on the page (a tag chip, a status choice, the next page) is this filter changed
in one way and written back to a URL, so a filtered view can be shared by its address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from urllib.parse import quote_plus, urlencode

from dagwright.definitions.workspace import split_reference
from dagwright.runs.columns import Sort
from dagwright.runs.models import RunsFilter, RunStatus
from dagwright.runs.query import quote
from dagwright.tags import group_tag_filters

#: Runs on one page of the runs list.
PAGE_SIZE = 50


@dataclass(frozen=True)
class RunsQuery:
    """A runs-list view: tag filters (keys AND; values of one key OR), statuses, job (a
    name, or ``name@location`` for the runs of that code location's job), whether system
    tags show, and the keyset cursor."""

    tags: tuple[tuple[str, str], ...] = ()
    statuses: tuple[RunStatus, ...] = ()
    job: str | None = None
    show_system: bool = False
    cursor: str | None = None
    q: str = ""
    columns: tuple[str, ...] = ()
    sort: str = ""
    offset: int = 0
    view: str = ""

    @classmethod
    def parse(
        cls,
        tags: Sequence[tuple[str, str]],
        statuses: Sequence[RunStatus],
        job: str | None,
        show_system: bool,
        cursor: str | None,
        q: str = "",
    ) -> RunsQuery:
        """Build from parsed query parameters (duplicates dropped, order kept)."""
        return cls(
            tuple(dict.fromkeys(tags)),
            tuple(dict.fromkeys(statuses)),
            job or None,
            show_system,
            cursor or None,
            q.strip(),
        )

    def runs_filter(self) -> RunsFilter:
        """The storage filter (the search box's query ANDed with the other filters).

        Raises:
            DagwrightInvalidQueryError: the search box's query is not a valid query.
        """
        by_key = group_tag_filters(self.tags)
        job, location = split_reference(self.job) if self.job else (None, None)
        return replace(
            RunsFilter.parse(self.q),
            job_name=job,
            location_name=location,
            statuses=list(self.statuses) or None,
            tags=by_key or None,
        )

    def query_text(self) -> str:
        """This view's whole filter as one run query (what a bulk action acts on)."""
        terms = [f"({self.q})"] if self.q else []
        for key, values in group_tag_filters(self.tags).items():
            terms.append(f"{quote(key, key=True)}:{','.join(quote(v) for v in values)}")
        if self.statuses:
            terms.append("status:" + ",".join(s.value for s in self.statuses))
        if self.job:
            terms.append(f"job:{quote(self.job)}")
        return " ".join(terms)

    def has_tag(self, key: str, value: str) -> bool:
        """Whether this tag is already a filter."""
        return (key, value) in self.tags

    def with_tag(self, key: str, value: str) -> str:
        """The URL adding a tag filter (from the first page)."""
        if self.has_tag(key, value):
            return self._first_page
        tags, rest = self._encoded
        added = "tag=" + quote_plus(f"{key}={value}")
        return "/runs?" + "&".join(part for part in (tags, added, rest) if part)

    def with_job(self, job: str) -> str:
        """The URL showing only runs of ``job`` (from the first page)."""
        links = self._job_links
        if job not in links:
            links[job] = self.url(job=job, cursor=None)
        return links[job]

    @cached_property
    def _job_links(self) -> dict[str, str]:
        return {}

    @cached_property
    def _first_page(self) -> str:
        """This view's URL without its cursor (what a chip of an active filter links to:
        on a filtered page, every run has one)."""
        return self.url(cursor=None)

    @cached_property
    def _encoded(self) -> tuple[str, str]:
        """This view's tag parameters and its other parameters (no cursor), encoded."""
        params = replace(self, cursor=None).params()
        tags = [p for p in params if p[0] == "tag"]
        return urlencode(tags), urlencode(params[len(tags) :])

    def without_tag(self, key: str, value: str) -> str:
        """The URL dropping a tag filter."""
        kept = tuple(t for t in self.tags if t != (key, value))
        return replace(self, tags=kept, cursor=None).url()

    def toggled_system(self) -> str:
        """The URL showing (or hiding) system tags, on the same page."""
        return replace(self, show_system=not self.show_system).url()

    def sorted_by(self, key: str) -> str:
        """The URL of this view ordered by ``key`` (the other way round when it already
        is), from the first page."""
        order = Sort.parse(self.sort or None).toggled(key)
        text = "" if order.is_default else order.text()
        return replace(self, sort=text, cursor=None, offset=0).url()

    def sort_mark(self, key: str) -> str:
        """``▲``/``▼`` when the view is ordered by ``key``, else ""."""
        order = Sort.parse(self.sort or None)
        if order.key != key:
            return ""
        return "▼" if order.descending else "▲"

    def next_page(self, cursor: str) -> str:
        """The URL of the page after the run ``cursor``."""
        return replace(self, cursor=cursor).url()

    def url(self, **changes: object) -> str:
        """This view's URL (with ``changes`` applied to its fields)."""
        query = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        return "/runs" + _query_string(query.params())

    def params(self) -> list[tuple[str, str]]:
        """The query parameters, in a stable order."""
        params = [("tag", f"{k}={v}") for k, v in self.tags]
        params += [("status", s.value) for s in self.statuses]
        if self.job:
            params.append(("job", self.job))
        if self.view:
            params.append(("view", self.view))
        if self.q:
            params.append(("q", self.q))
        if self.columns:
            params.append(("columns", ",".join(self.columns)))
        if self.sort:
            params.append(("sort", self.sort))
        if self.offset:
            params.append(("offset", str(self.offset)))
        if self.show_system:
            params.append(("system", "1"))
        if self.cursor:
            params.append(("cursor", self.cursor))
        return params


def _query_string(params: Sequence[tuple[str, str]] | Mapping[str, str]) -> str:
    return "?" + urlencode(params) if params else ""

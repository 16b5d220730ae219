"""Saved runs views on SQLite and PostgreSQL, through the instance and across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwright import (
    DagwrightInvalidConfigError,
    DagwrightInvalidQueryError,
    DagwrightInvalidTagError,
    DagwrightNotFoundError,
    Instance,
)


def test_views_are_saved_listed_replaced_and_deleted_across_a_restart(queued_home: Path) -> None:
    with Instance.from_home(queued_home) as instance:
        saved = instance.save_view("failures", "status:FAILURE team:docs", ["team", "env"])
        assert saved.to_json() == {
            "name": "failures",
            "q": "status:FAILURE team:docs",
            "columns": ["team", "env"],
        }
        instance.save_view("all", "")
    with Instance.from_home(queued_home) as instance:
        assert [v.name for v in instance.get_views()] == ["all", "failures"]
        assert instance.get_view("failures").columns == ("team", "env")
        first = instance.get_view("failures").created_at
        replaced = instance.save_view("failures", "status:FAILURE")
        assert (replaced.q, replaced.columns, replaced.created_at) == ("status:FAILURE", (), first)
        instance.delete_view("all")
        assert [v.name for v in instance.get_views()] == ["failures"]
        with pytest.raises(DagwrightNotFoundError):
            instance.delete_view("all")
        with pytest.raises(DagwrightNotFoundError):
            instance.get_view("all")


def test_bad_views_are_refused_and_nothing_is_stored(queued_instance: Instance) -> None:
    with pytest.raises(DagwrightInvalidQueryError):
        queued_instance.save_view("v", "team:(")
    with pytest.raises(DagwrightInvalidTagError):
        queued_instance.save_view("v", "team:x", ["bad key"])
    for name in ["", "a b", "-x", "x/y", "x" * 65]:
        with pytest.raises(DagwrightInvalidConfigError):
            queued_instance.save_view(name, "")
    assert queued_instance.get_views() == []

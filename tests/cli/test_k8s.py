# ruff: noqa: E501  (a table of command lines)
"""``dagwright k8s manifest``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the [k8s] extra is not installed")

CliRunner = Callable[..., Any]
F = str(Path(__file__).resolve().parents[2] / "examples" / "jobs.py")


def test_manifest_prints_the_job_as_yaml_and_stores_nothing(cli: CliRunner) -> None:
    import yaml

    config = '{"dagwright-k8s/config": {"container_config": {"resources": {"limits": {"memory": "1Gi"}}}}}'
    outcome = cli("k8s", "manifest", "-f", F, "-j", "daily_sales", "--partition", "2026-01-02",
                  "--image", "img:1", "--tags", config, "--tag", "team=docs")  # fmt: skip
    assert outcome.code == 0, outcome.err
    job = yaml.safe_load(outcome.out)
    assert job["kind"] == "Job" and job["metadata"]["name"].startswith("dagwright-run-")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "img:1"
    assert container["resources"] == {"limits": {"memory": "1Gi"}}
    assert job["metadata"]["labels"]["dagwright/partition"] == "2026-01-02"
    assert job["metadata"]["labels"]["team"] == "docs"
    assert cli("run", "list", "--json").json()["runs"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image", "i", "--tags", '{"dagwright-k8s/config": {"container_config": {"resources": {"limts": 1}}}}'],
         "container_config.resources.limts: unknown field"),
        (["--image", "i", "--tags", '{"dagwright-k8s/config": {"job_spec_config": {"backoffLimit": "x"}}}'],
         "spec.backoffLimit"),
        ([], "no image"),
    ],
)  # fmt: skip
def test_a_bad_config_exits_2_with_one_line(cli: CliRunner, args: list[str], message: str) -> None:
    outcome = cli("k8s", "manifest", "-f", F, "-j", "daily_sales", *args)
    assert outcome.code == 2
    assert message in outcome.err and len(outcome.err.strip().splitlines()) == 1

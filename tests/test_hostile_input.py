"""Generated hostile input against every surface, on SQLite and PostgreSQL.

Each call either succeeds (and what it stored reads back) or is refused the one way bad
input is refused: a ``DagwrightError`` in Python, exit 2 with one line on stderr from the
CLI, a 4xx with a JSON error body from the HTTP API — never another exception, never a
5xx, and nothing stored by a refused call. The values are lone surrogates, NUL, integers
past 64 bits, NaN, values nested past the limits, odd Python types, malformed keys; the
cases the fuzzing issue found are pinned as explicit examples.

Bounded: a fixed, derandomized profile with few examples per test (``HOSTILE_EXAMPLES``,
default 25; the CLI tests run half as many), so the module takes seconds per store. Run it
with ``HOSTILE_EXAMPLES=500`` to hunt for more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from tests.conftest import QUEUED_HOME_CONFIG, fresh_pg_database
from tests.jobs.simple import by_region, loader

from dagwright import Instance, MetadataValue, RunsFilter
from dagwright.cli.main import main
from dagwright.errors import DagwrightError

#: The profile of every test here: reproducible, bounded, no deadline (PostgreSQL).
HOSTILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "25")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SIMPLE = str(Path(__file__).parent / "jobs" / "simple.py")


def nested(depth: int, leaf: object = 1) -> object:
    """``[[...[leaf]...]]`` of ``depth`` lists, built without recursion."""
    value: object = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- strategies -----------------------------------------------------------------------------

#: Characters that break text somewhere: lone surrogates, NUL, controls, the separators of
#: tag keys and filters, a character outside the BMP.
NASTY_CHARS = ["\ud800", "\udfff", "\udcff", "\x00", "\n", "\x7f", "=", "/", ":", " ", "😀"]

texts = st.lists(
    st.one_of(st.sampled_from(NASTY_CHARS), st.characters(codec="utf-8")), max_size=8
).map("".join)

tag_keys = st.one_of(
    texts,
    st.sampled_from(["team", "a/b", "dagwright/priority", "dagwright/partition", "x" * 64]),
    st.from_regex(r"[a-z]{1,5}(/[a-z]{1,5})?", fullmatch=True),
)

big_ints = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30)]),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), big_ints, st.floats(), texts, st.sampled_from([b"x", 1j])
)

json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(texts, st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)

tag_values = st.one_of(texts, json_values, st.sampled_from(["1", "-7", "9" * 30, "ALL_STEPS"]))

tag_dicts = st.one_of(
    st.dictionaries(tag_keys, tag_values, max_size=3),
    st.sampled_from([None, [], "team=docs", 3]),
)


def load_config(limit: object) -> dict[str, Any]:
    """Run config of the loader job's op with ``limit`` as its ``limit``."""
    return {"ops": {"load": {"config": {"limit": limit}}}}


run_configs = st.one_of(
    st.none(),
    st.just({"ops": {"load": {"config": {}}}}),
    st.one_of(big_ints, json_values).map(load_config),
    st.dictionaries(st.one_of(texts, st.just("ops")), json_values, max_size=2),
    json_values,
)

#: The cases the fuzzing issue found (and a few more), as keyword arguments of a run.
SURROGATE_KEY = {"\ud800": "x"}
SURROGATE_VALUE = {"team": "\ud800"}
DEEP_TAG = {"deep": nested(400)}
BIG_TAG = {"big": {"n": 2**70}}
BIG_CONFIG = {"ops": {"load": {"config": {"limit": 2**64}}}}
DEEP_CONFIG = {"ops": {"load": {"config": nested_dict(3000)}}}
SURROGATE_CONFIG = {"ops": {"load": {"config": {"limit": 1, "label": "\udcff"}}}}
INT_KEY_CONFIG = {"ops": {"load": {"config": {1: 2}}}}


# -- what a refusal must look like ------------------------------------------------------------


def refused(call: Callable[[], object]) -> DagwrightError | None:
    """Run ``call``: None when it succeeds, its ``DagwrightError`` when it refuses; any
    other exception fails the test."""
    try:
        call()
    except DagwrightError as exc:
        assert str(exc), "an error must say what was wrong"
        str(exc).encode("utf-8")  # printable as it is: the faulty text is escaped
        return exc
    return None


def snapshot(instance: Instance) -> list[tuple[str, dict[str, str]]]:
    """Every stored run with its tags (what a refused call must leave as it was)."""
    return [(run.run_id, dict(run.tags)) for run in instance.get_runs()]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def hostile_home(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """One home for the whole module (a store per module keeps it quick), whose runs wait
    in the queue (no processes), on SQLite or PostgreSQL."""
    home = tmp_path_factory.mktemp("hostile") / "home"
    home.mkdir()
    with ExitStack() as stack:
        config = QUEUED_HOME_CONFIG
        if request.param == "postgres":
            url = stack.enter_context(fresh_pg_database())
            config += f"storage:\n  postgres:\n    url: {url}\n"
        (home / "dagwright.yaml").write_text(config)
        yield home


@pytest.fixture(scope="module")
def store(hostile_home: Path) -> Iterator[Instance]:
    """The instance of :func:`hostile_home`, holding at least one run."""
    with Instance.from_home(hostile_home) as instance:
        instance.submit_run(loader, tags={"team": "docs"})
        yield instance


# -- Python API -------------------------------------------------------------------------------


@HOSTILE
@given(run_config=run_configs, tags=tag_dicts)
@example(run_config=None, tags=SURROGATE_KEY)
@example(run_config=None, tags=SURROGATE_VALUE)
@example(run_config=None, tags=DEEP_TAG)
@example(run_config=None, tags=BIG_TAG)
@example(run_config=BIG_CONFIG, tags=None)
@example(run_config=DEEP_CONFIG, tags=None)
@example(run_config=SURROGATE_CONFIG, tags=None)
@example(run_config=INT_KEY_CONFIG, tags=None)
@example(run_config={"": None, 0: None}, tags=None)
def test_submit_run(store: Instance, run_config: Any, tags: Any) -> None:
    before = snapshot(store)
    error = refused(lambda: store.submit_run(loader, run_config=run_config, tags=tags))
    after = snapshot(store)
    if error is not None:
        assert after == before
    else:
        assert len(after) == len(before) + 1
        assert store.get_run(after[0][0]) is not None


@HOSTILE
@given(
    selection=st.one_of(st.none(), st.lists(texts, max_size=2), texts, st.integers()),
    partition_key=st.one_of(st.none(), texts, st.integers()),
    job=st.sampled_from([loader, by_region]),
)
@example(selection=["\ud800"], partition_key=None, job=loader)
@example(selection=None, partition_key="\ud800", job=by_region)
@example(selection="load", partition_key=None, job=loader)
@example(selection=[1], partition_key=None, job=loader)
def test_submit_run_selection_and_partition(
    store: Instance, selection: Any, partition_key: Any, job: Any
) -> None:
    before = snapshot(store)
    call = lambda: store.submit_run(job, op_selection=selection, partition_key=partition_key)  # noqa: E731
    error = refused(call)
    after = snapshot(store)
    if error is not None:
        assert after == before
    else:
        assert len(after) == len(before) + 1
        assert store.get_run(after[0][0]) is not None


def asks_for_many_rows(run_config: Any) -> bool:
    """Whether the loader op, run with this config, would build a list of more than 1,000
    items (``list(range(limit))``: a limit of 2**62 is valid config and exhausts memory)."""
    try:
        limit = float(run_config["ops"]["load"]["config"]["limit"])
    except (TypeError, KeyError, ValueError, OverflowError, IndexError):
        return False
    return not limit <= 1000


@HOSTILE
@given(run_config=run_configs, tags=tag_dicts)
@example(run_config=DEEP_CONFIG, tags=SURROGATE_VALUE)
@example(run_config=BIG_CONFIG, tags=None)
@example(run_config=None, tags=DEEP_TAG)
def test_execute_in_process(store: Instance, run_config: Any, tags: Any) -> None:
    assume(not asks_for_many_rows(run_config))
    before = snapshot(store)
    error = refused(
        lambda: loader.execute_in_process(
            run_config=run_config, tags=tags, instance=store, raise_on_error=False
        )
    )
    if error is not None:
        assert snapshot(store) == before


@HOSTILE
@given(tags=tag_dicts, remove=st.lists(texts, max_size=2), run_id=st.one_of(st.none(), texts))
@example(tags=SURROGATE_KEY, remove=[], run_id=None)
@example(tags=SURROGATE_VALUE, remove=[], run_id=None)
@example(tags=DEEP_TAG, remove=[], run_id=None)
@example(tags={}, remove=["\ud800"], run_id=None)
@example(tags={"team": "ml"}, remove=[], run_id="\ud800")
@example(tags={"team": "ml"}, remove=[], run_id="run\x00")
def test_add_and_remove_run_tags(
    store: Instance, tags: Any, remove: list[str], run_id: str | None
) -> None:
    target = run_id if run_id is not None else store.get_runs()[0].run_id
    before = snapshot(store)
    added = refused(lambda: store.add_run_tags(target, tags))
    if added is not None:
        assert snapshot(store) == before
    before = snapshot(store)
    if refused(lambda: store.remove_run_tags(target, remove)) is not None:
        assert snapshot(store) == before


@HOSTILE
@given(
    tags=st.dictionaries(tag_keys, st.one_of(texts, st.lists(texts, max_size=2), json_scalars)),
    job_name=st.one_of(st.none(), texts),
)
@example(tags={"team": "\ud800"}, job_name=None)
@example(tags={"\ud800": "x"}, job_name=None)
@example(tags={"team": 1}, job_name=None)
@example(tags={"team": "a\x00"}, job_name=None)
@example(tags={}, job_name="\udcff")
def test_runs_filter(store: Instance, tags: Any, job_name: str | None) -> None:
    def query() -> None:
        store.get_runs(RunsFilter(tags=tags, job_name=job_name))
        store.get_runs_count(RunsFilter(tags=tags, job_name=job_name, run_ids=[job_name or "x"]))

    refused(query)


@HOSTILE
@given(value=json_values, text=texts)
@example(value=nested(400), text="\ud800")
@example(value={"n": 2**70}, text="ok")
@example(value=10**5000, text="ok")
def test_metadata_constructors(value: Any, text: str) -> None:
    refused(lambda: MetadataValue.json(value))
    refused(lambda: MetadataValue.int(value))
    refused(lambda: MetadataValue.float(value))
    refused(lambda: MetadataValue.table([{"a": value}]))
    for build in (MetadataValue.text, MetadataValue.url, MetadataValue.md, MetadataValue.path):
        refused(lambda build=build: build(text))  # type: ignore[misc]


# -- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli_home(hostile_home: Path, store: Instance, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$DAGWRIGHT_HOME`` for the CLI: the module's home (runs wait in the queue)."""
    monkeypatch.setenv("DAGWRIGHT_HOME", str(hostile_home))
    monkeypatch.delenv("DAGWRIGHT_PG_URL", raising=False)
    return hostile_home


def run_cli(*args: str) -> tuple[int, str, str]:
    """``dagwright ARGS`` through click's runner: (exit code, stdout, stderr)."""
    runner = CliRunner()
    code = 0
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        stdout, stderr = out.getvalue(), err.getvalue()
    return code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def stored_runs(home: Path) -> list[tuple[str, dict[str, str]]]:
    with Instance.from_home(home) as instance:
        return snapshot(instance)


#: Fewer examples where each one loads code and opens the instance in the CLI.
CLI_EXAMPLES = settings(HOSTILE, max_examples=max(1, HOSTILE.max_examples // 2))


def assert_cli_outcome(home: Path, before: object, code: int, err: str) -> None:
    """Success, or exit 2 with one ``Error:`` line on stderr and nothing stored."""
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("Error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        assert stored_runs(home) == before


def json_arg(value: Any) -> str:
    """``value`` as a command-line JSON argument (surrogates escaped, as a shell user
    would type them)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return "{not json"


@CLI_EXAMPLES
@given(
    command=st.sampled_from(["launch", "execute"]),
    tags=st.one_of(tag_dicts.map(json_arg), texts),
    pairs=st.lists(st.tuples(tag_keys, texts).map("=".join), max_size=2),
    config=run_configs,
)
@example(command="launch", tags=json_arg(SURROGATE_KEY), pairs=[], config=None)
@example(command="launch", tags=json_arg(DEEP_TAG), pairs=[], config=None)
@example(command="launch", tags=nested_text(50_000), pairs=[], config=None)
@example(command="launch", tags="{}", pairs=["team=\udcff"], config=None)
@example(command="launch", tags="{}", pairs=[], config=BIG_CONFIG)
@example(command="execute", tags='{"n": 1' + "0" * 5000 + "}", pairs=[], config=None)
@example(command="execute", tags="{}", pairs=[], config=SURROGATE_CONFIG)
def test_cli_job_launch_and_execute(
    cli_home: Path, tmp_path: Path, command: str, tags: str, pairs: list[str], config: Any
) -> None:
    assume(command == "launch" or not asks_for_many_rows(config))
    args = ["job", command, "-f", SIMPLE, "-j", "loader", "--tags", tags]
    for pair in pairs:
        args += ["--tag", pair]
    if config is not None:
        path = tmp_path / "run.json"
        path.write_text(json_arg(config), encoding="utf-8")
        args += ["--config", str(path)]
    before = stored_runs(cli_home)
    code, _, err = run_cli(*args)
    assert_cli_outcome(cli_home, before, code, err)


@CLI_EXAMPLES
@given(adds=st.lists(st.tuples(tag_keys, texts).map("=".join), max_size=2), removes=st.lists(texts))
@example(adds=["\ud800=x"], removes=[])
@example(adds=["team=\udcff"], removes=[])
@example(adds=[], removes=["dagwright/partition"])
def test_cli_run_tags(cli_home: Path, adds: list[str], removes: list[str]) -> None:
    before = stored_runs(cli_home)
    args = ["run", "tags", before[0][0]]
    for pair in adds:
        args += ["--add", pair]
    for key in removes:
        args += ["--remove", key]
    code, _, err = run_cli(*args)
    assert_cli_outcome(cli_home, before, code, err)


#: ``dagwright job launch`` of the loader job, as a real process is given it (bytes).
LAUNCH = [b"job", b"launch", b"-f", SIMPLE.encode(), b"-j", b"loader"]


@pytest.mark.parametrize(
    ("args", "config_bytes"),
    [
        ([*LAUNCH, b"--tags", nested_text(50_000).encode()], None),
        ([b"run", b"show", b"\xff\xfe"], None),
        ([*LAUNCH, b"--tag", b"team=\xed\xa0\x80"], None),
        ([*LAUNCH, b"--config", b"CONFIG"], b"\xff{ops: 1}"),
    ],
    ids=["deep-tags", "non-utf8-run-id", "surrogate-bytes-tag", "non-utf8-config"],
)
def test_cli_in_a_real_process(
    cli_home: Path, tmp_path: Path, args: list[bytes], config_bytes: bytes | None
) -> None:
    if config_bytes is not None:
        config = tmp_path / "run.yaml"
        config.write_bytes(config_bytes)
        args = [str(config).encode() if arg == b"CONFIG" else arg for arg in args]
    before = stored_runs(cli_home)
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"dagwright", *args],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=120,
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert stored_runs(cli_home) == before


# -- HTTP API ---------------------------------------------------------------------------------


@pytest.fixture
def api(store: Instance) -> Iterator[Any]:
    from fastapi.testclient import TestClient
    from tests.web.conftest import BASE_URL, web_definitions

    from dagwright.web.app import create_app

    app = create_app(store, web_definitions())
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        yield client


def body_text(value: Any) -> str:
    """A JSON request body (surrogates as ``\\ud800`` escapes, which JSON allows)."""
    try:
        return json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        return '{"job_name": "documented", "tags": {"a": NaN}}'


def assert_api_outcome(store: Instance, before: object, response: Any) -> None:
    """Success, or a 4xx whose JSON body names the field; nothing stored when refused."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] and error["message"], error
        assert "field" in error
        assert snapshot(store) == before


def post_json(api: Any, method: str, path: str, text: str) -> Any:
    headers = {"content-type": "application/json"}
    return api.request(method, path, content=text.encode("ascii"), headers=headers)


@HOSTILE
@given(
    body=st.fixed_dictionaries(
        {"job_name": st.sampled_from(["documented", "configured", "\ud800"])},
        optional={
            "tags": tag_dicts,
            "run_config": run_configs,
            "op_selection": st.lists(texts, max_size=2),
            "partition_key": texts,
        },
    ).map(body_text)
)
@example(body=body_text({"job_name": "documented", "tags": SURROGATE_KEY}))
@example(body=body_text({"job_name": "documented", "tags": SURROGATE_VALUE}))
@example(body=body_text({"job_name": "documented", "tags": DEEP_TAG}))
@example(body=body_text({"job_name": "configured", "run_config": BIG_CONFIG}))
@example(body=body_text({"job_name": "configured", "run_config": SURROGATE_CONFIG}))
@example(body='{"job_name": "documented", "run_config": ' + nested_text(3000) + "}")
@example(body='{"job_name": "documented", "tags": {"a": ' + nested_text(3000) + "}}")
@example(body='{"job_name": "documented", "tags": {"n": 1' + "0" * 5000 + "}}")
def test_api_create_run(store: Instance, api: Any, body: str) -> None:
    before = snapshot(store)
    response = post_json(api, "POST", "/api/v1/runs", body)
    assert_api_outcome(store, before, response)


@HOSTILE
@given(
    body=st.fixed_dictionaries(
        {}, optional={"add": tag_dicts, "remove": st.lists(texts, max_size=2)}
    ).map(body_text)
)
@example(body=body_text({"add": SURROGATE_KEY}))
@example(body=body_text({"add": SURROGATE_VALUE}))
@example(body=body_text({"add": DEEP_TAG}))
@example(body=body_text({"remove": ["\ud800"]}))
def test_api_tags(store: Instance, api: Any, body: str) -> None:
    run_id = store.get_runs()[0].run_id
    before = snapshot(store)
    response = post_json(api, "PATCH", f"/api/v1/runs/{run_id}/tags", body)
    assert_api_outcome(store, before, response)


@HOSTILE
@given(
    query=st.lists(
        st.tuples(
            st.sampled_from(["tag", "job", "status", "cursor", "limit"]), st.binary(max_size=12)
        ),
        max_size=3,
    )
)
@example(query=[("tag", "team=\ud800".encode("utf-8", "surrogatepass"))])
@example(query=[("tag", b"\xed\xa0\x80=x")])
@example(query=[("job", b"\xff")])
@example(query=[("cursor", b"\xed\xb3\xbf")])
def test_api_runs_list_filters(store: Instance, api: Any, query: list[tuple[str, bytes]]) -> None:
    from urllib.parse import quote_from_bytes

    text = "&".join(f"{name}={quote_from_bytes(value, safe='')}" for name, value in query)
    before = snapshot(store)
    response = api.get(f"/api/v1/runs?{text}")
    assert_api_outcome(store, before, response)

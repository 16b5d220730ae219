"""Options and helpers shared by the command groups."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click

from dagwright.definitions.container import Definitions
from dagwright.definitions.job import JobDefinition
from dagwright.definitions.workspace import CodeLocationOrigin, Workspace, load_workspace
from dagwright.errors import DagwrightInvalidConfigError
from dagwright.instance import Instance
from dagwright.jsonvalue import printable
from dagwright.tags import parse_tag_pair

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CodeArgs:
    """Where the jobs are: repeated ``-f FILE`` and ``-m MODULE``, and ``-w workspace.yaml``."""

    python_files: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    workspace_file: str | None = None

    @property
    def given(self) -> bool:
        """Whether any code was named."""
        return bool(self.python_files or self.modules or self.workspace_file)

    def argv(self) -> list[str]:
        """The same options, for another ``dagwright`` command."""
        args = [arg for path in self.python_files for arg in ("-f", path)]
        args += [arg for module in self.modules for arg in ("-m", module)]
        return args + (["-w", self.workspace_file] if self.workspace_file else [])

    def origins(self) -> list[CodeLocationOrigin]:
        """The code locations named: files, then modules, then the workspace file's."""
        from dagwright.definitions.workspace_file import read_workspace_file

        origins = [CodeLocationOrigin(python_file=p, source=f"-f {p}") for p in self.python_files]
        origins += [CodeLocationOrigin(module=m, source=f"-m {m}") for m in self.modules]
        if self.workspace_file is not None:
            origins += read_workspace_file(self.workspace_file)
        return origins


_CODE_OPTIONS = (
    click.option(
        "-f",
        "--file",
        "python_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Python file to load jobs from (repeatable: one code location each).",
    ),
    click.option(
        "-m",
        "--module",
        "modules",
        multiple=True,
        help="Python module to load jobs from (repeatable).",
    ),
    click.option(
        "-w",
        "--workspace",
        "workspace_file",
        type=click.Path(dir_okay=False),
        help="workspace.yaml listing code locations (Dagster's load_from shape).",
    ),
)


def code_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``-f FILE``... / ``-m MODULE``... / ``-w workspace.yaml``: where the jobs are, passed
    to the command as ``code`` (a :class:`CodeArgs`)."""

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        code = CodeArgs(
            kwargs.pop("python_files"), kwargs.pop("modules"), kwargs.pop("workspace_file")
        )
        return fn(code=code, **kwargs)

    for option in reversed(_CODE_OPTIONS):
        command = option(command)
    return command


@dataclass(frozen=True)
class RunArgs:
    """What ``job execute`` and ``job launch`` were asked to run (already parsed)."""

    job: JobDefinition
    run_config: dict[str, Any] | None
    tags: dict[str, object]
    op_selection: list[str] | None
    partition_key: str | None


_RUN_OPTIONS = (
    click.option(
        "-j",
        "--job",
        "job_name",
        help="Job name, or NAME@LOCATION when several code locations have a job of that name "
        "(optional when there is one job).",
    ),
    click.option("--tags", "tags_json", help='Tags as a JSON object: \'{"team": "docs"}\'.'),
    click.option("--tag", "tag_pairs", multiple=True, help="A tag key=value (repeatable)."),
    click.option("--op-selection", help="Ops to run, comma-separated ('*load', 'clean+')."),
    click.option("--partition", "partition_key", help="Partition key to run."),
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="Run config file (YAML or JSON).",
    ),
)


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``-f/-m -j --tags --tag --op-selection --partition --config``, parsed into the
    :class:`RunArgs` passed to the command as its first argument."""

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        names = (
            "code",
            "job_name",
            "tags_json",
            "tag_pairs",
            "op_selection",
            "partition_key",
            "config_path",
        )
        given = {name: kwargs.pop(name) for name in names}
        args = RunArgs(
            job=pick_job(load_code(given["code"]), given["job_name"]),
            run_config=load_run_config(given["config_path"]),
            tags=parse_tags(given["tags_json"], given["tag_pairs"]),
            op_selection=split_selection(given["op_selection"]),
            partition_key=given["partition_key"],
        )
        return fn(args, **kwargs)

    for option in reversed(_RUN_OPTIONS):
        command = option(command)
    return code_options(command)


def load_code(code: CodeArgs) -> Workspace:
    """The workspace named by ``-f``/``-m``/``-w`` (one code location per file or module)."""
    if not code.given:
        raise click.UsageError(
            "give a code file with -f FILE or a module with -m MODULE (or a workspace with -w FILE)"
        )
    return load_workspace(code.origins())


def pick_job(definitions: Definitions, name: str | None) -> JobDefinition:
    """The job named ``-j`` (``NAME`` or ``NAME@LOCATION``), or the only job when there is
    one."""
    if name is not None:
        return definitions.get_job(name)
    if len(definitions.jobs) == 1:
        return next(iter(definitions.jobs.values()))
    raise click.UsageError(f"several jobs, choose one with -j JOB ({', '.join(definitions.jobs)})")


def parse_tags(tags_json: str | None, tag_pairs: tuple[str, ...]) -> dict[str, object]:
    """Merge ``--tags JSON`` and repeated ``--tag k=v`` (the latter win)."""
    tags: dict[str, object] = {}
    if tags_json is not None:
        loaded = _load_json(tags_json, "--tags")
        if not isinstance(loaded, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--tags")
        tags.update(loaded)
    for pair in tag_pairs:
        key, value = parse_tag_pair(pair)
        tags[key] = value
    return tags


def _load_json(text: str, option: str) -> Any:
    """Parse the JSON of an option; any fault is a usage error naming the option."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg}", param_hint=option) from None
    except RecursionError:
        rule = "nested too deep to read"
        raise click.BadParameter(rule, param_hint=option) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise click.BadParameter(f"not usable JSON: {exc}", param_hint=option) from None


def load_run_config(path: str | None) -> dict[str, Any] | None:
    """Read ``--config run.yaml`` (YAML or JSON)."""
    if path is None:
        return None
    import yaml

    file = Path(path)
    if not file.is_file():
        raise DagwrightInvalidConfigError(printable(str(file)), "config file not found")
    where = printable(str(file))
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise DagwrightInvalidConfigError(where, "not UTF-8 text") from None
    except RecursionError:
        raise DagwrightInvalidConfigError(where, "nested too deep to read") from None
    except (yaml.YAMLError, ValueError) as exc:
        rule = f"not valid YAML: {printable(' '.join(str(exc).split()))}"
        raise DagwrightInvalidConfigError(where, rule) from None
    if not isinstance(loaded, dict):
        raise DagwrightInvalidConfigError(where, "must hold a mapping")
    return loaded


def open_instance() -> Instance:
    """The instance of ``$DAGWRIGHT_HOME``."""
    return Instance.get()


def echo_json(data: Any) -> None:
    """Print JSON the way the HTTP API returns it."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def format_time(ts: float | None) -> str:
    """A timestamp as local time to the second with its zone (``2026-01-02 03:04:05 UTC``),
    or ``-``."""
    if ts is None:
        return "-"
    local = datetime.fromtimestamp(ts, tz=timezone.utc).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


def print_table(table: Any) -> None:
    """Print a rich table: fitted to a terminal, never truncated when piped."""
    import sys

    from rich.console import Console

    wide = None if sys.stdout.isatty() else 10_000
    Console(width=wide).print(table)


def format_tags(tags: Mapping[str, str]) -> str:
    """Tags as ``k=v`` separated by spaces (for terminals)."""
    return " ".join(f"{k}={v}" for k, v in tags.items())


def split_selection(text: str | None) -> list[str] | None:
    """``--op-selection a,b`` into a list."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise click.BadParameter("give at least one op name", param_hint="--op-selection")
    return items

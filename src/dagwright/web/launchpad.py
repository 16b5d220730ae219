"""The launchpad form: parse it, check every field before anything is launched, and
build the run-config text a job starts from.

The form has ``run_config`` (YAML), ``op_selection`` (comma-separated), ``partition_key``
and repeated ``tag_key`` / ``tag_value`` rows. Errors are keyed by field (``run_config``,
``op_selection``, ``partition_key``, ``tag.<row>``) so the page shows each next to its
input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from dagwright.definitions.job import JobDefinition
from dagwright.definitions.op import OpDefinition
from dagwright.errors import DagwrightError, DagwrightInvalidTagError
from dagwright.tags import is_system_tag, normalize_tags
from dagwright.web.errors import REQUEST_FIELDS, from_dagwright

if TYPE_CHECKING:
    from dagwright.runs.models import Run
    from dagwright.settings import Settings


@dataclass
class LaunchForm:
    """A launchpad submission, parsed; ``errors`` maps fields to messages."""

    run_config_text: str = ""
    op_selection_text: str = ""
    partition_key: str = ""
    tag_rows: list[tuple[str, str]] = field(default_factory=list)
    run_config: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def op_selection(self) -> list[str] | None:
        """The selection as a list, or None for every op."""
        items = [item.strip() for item in self.op_selection_text.split(",") if item.strip()]
        return items or None


def parse_form(fields: Sequence[tuple[str, str]]) -> LaunchForm:
    """Read the submitted fields; YAML and tag rows are checked here."""
    values: dict[str, str] = {}
    keys: list[str] = []
    tag_values: list[str] = []
    for name, value in fields:
        if name == "tag_key":
            keys.append(value)
        elif name == "tag_value":
            tag_values.append(value)
        else:
            values[name] = value
    form = LaunchForm(
        run_config_text=values.get("run_config", ""),
        op_selection_text=values.get("op_selection", ""),
        partition_key=values.get("partition_key", "").strip(),
        tag_rows=[
            (key, tag_values[i] if i < len(tag_values) else "") for i, key in enumerate(keys)
        ],
    )
    _parse_config(form)
    _parse_tags(form)
    return form


def _parse_config(form: LaunchForm) -> None:
    import yaml

    try:
        loaded = yaml.safe_load(form.run_config_text) if form.run_config_text.strip() else None
    except yaml.YAMLError as exc:
        form.errors["run_config"] = f"not valid YAML: {' '.join(str(exc).split())}"
        return
    if loaded is not None and not isinstance(loaded, dict):
        form.errors["run_config"] = "run config must be a mapping (ops: …)"
        return
    form.run_config = loaded or None


def _parse_tags(form: LaunchForm) -> None:
    for row, (key, value) in enumerate(form.tag_rows):
        key = key.strip()
        if not key and not value:
            continue
        if key in form.tags:
            form.errors[f"tag.{row}"] = f"tag {key!r}: given twice"
            continue
        try:
            form.tags.update(normalize_tags({key: value}))
        except DagwrightError as exc:
            form.errors[f"tag.{row}"] = str(exc)


def check(form: LaunchForm, job: JobDefinition, settings: Settings | None = None) -> None:
    """Check the whole request as a launch would (nothing is stored), recording every
    error at once: a field found wrong is left out (its default taken) and the rest is
    checked again, so a bad tag does not hide a config error; with ``settings``, against
    its tag and metadata policies too."""
    from dagwright.runs.request import prepare_run

    request: dict[str, Any] = {
        "run_config": None if "run_config" in form.errors else form.run_config,
        "tags": form.tags,
        "op_selection": form.op_selection,
        "partition_key": form.partition_key or None,
    }
    for _ in range(len(request) + 1):
        try:
            run = prepare_run(job, **request).run
            if settings is not None:
                _check_policies(settings, job, run)
            return
        except DagwrightError as exc:
            field = record_error(form, exc)
        if request.get(field) in (None, {}):
            return  # nothing left to leave out: the rest cannot be checked alone
        request[field] = {} if field == "tags" else None


def _check_policies(settings: Settings, job: JobDefinition, run: Run) -> None:
    from dagwright.runs.policies import check_run

    user_tags = {k: v for k, v in run.tags.items() if not is_system_tag(k)}
    check_run(settings.tag_policies, settings.metadata_policies, job.name, user_tags, job.metadata)


def record_error(form: LaunchForm, exc: DagwrightError) -> str:
    """Show a refused launch's error next to its field (one of
    :data:`~dagwright.web.errors.REQUEST_FIELDS`; a tag's row when a row has its key), or
    above the form (``form``), unless that place shows one already; the field."""
    error = from_dagwright(exc)
    if isinstance(exc, DagwrightInvalidTagError):
        rows = [row for row, (key, _) in enumerate(form.tag_rows) if key.strip() == exc.key]
        if rows:
            form.errors.setdefault(f"tag.{rows[0]}", error.message)
            return "tags"
    field = error.field if error.field in REQUEST_FIELDS else "form"
    form.errors.setdefault(field, error.message)
    return field


@dataclass(frozen=True)
class TagHint:
    """What the launchpad tells about a tag key a policy governs.

    Attributes:
        key: the tag key.
        required: a run of this job must carry it.
        values: the allowed values, offered in a list (empty: any).
        pattern: the regular expression a value must match, if any.
        description: the policy's help text.
    """

    key: str
    required: bool
    values: tuple[str, ...]
    pattern: str | None
    description: str | None

    def to_json(self) -> dict[str, Any]:
        """The hint as the page's script reads it."""
        return {
            "required": self.required,
            "values": list(self.values),
            "pattern": self.pattern,
            "description": self.description,
        }


def tag_hints(settings: Settings, job: JobDefinition) -> dict[str, TagHint]:
    """The hints of the tag policies that apply to the job, by key (the first policy of a
    key gives its help; any of them makes it required)."""
    from dagwright.runs.policies import applies

    hints: dict[str, TagHint] = {}
    for policy in settings.tag_policies:
        if not applies(policy, job.name):
            continue
        known = hints.get(policy.key)
        hints[policy.key] = TagHint(
            policy.key,
            policy.required or (known is not None and known.required),
            known.values if known is not None and known.values else tuple(policy.values or ()),
            known.pattern if known is not None and known.pattern else policy.pattern,
            known.description if known is not None and known.description else policy.description,
        )
    return hints


def with_required_rows(form: LaunchForm, hints: Mapping[str, TagHint], job: JobDefinition) -> None:
    """Add an empty row for each required key the job does not set and no row names."""
    given = {key.strip() for key, _ in form.tag_rows}
    missing = [
        key
        for key, hint in hints.items()
        if hint.required and key not in job.tags and key not in given
    ]
    rows = [row for row in form.tag_rows if row[0].strip() or row[1]]
    form.tag_rows = [(key, "") for key in missing] + rows


def default_config_text(job: JobDefinition) -> str:
    """The YAML a launchpad starts from: the job's default config, else each configurable
    op's fields with their defaults (``null`` where a value is required)."""
    import yaml

    if isinstance(job.config, Mapping):
        return yaml.safe_dump(dict(job.config), sort_keys=False)
    if job.config is not None:
        return "# this job's config is computed from the partition\n"
    ops: dict[str, Any] = {}
    for node in job.graph.nodes.values():
        defaults = _config_defaults(node.op)
        if defaults is not _NO_CONFIG:
            ops[node.name] = {"config": _plain(defaults)}
    if not ops:
        return "# no op of this job takes config\n"
    return yaml.safe_dump({"ops": ops}, sort_keys=False)


#: What :func:`_config_defaults` answers for an op that takes no config.
_NO_CONFIG: Final = object()


def _config_defaults(op: OpDefinition) -> Any:
    """An op's config fields with their defaults (``None`` where required)."""
    if op.config_schema is not None:
        from dagwright.definitions.config_schema import scaffold

        return scaffold(op.config_schema.root)
    if op.config_type is None:
        return _NO_CONFIG
    return {
        name: (None if info.is_required() else info.get_default(call_default_factory=True))
        for name, info in op.config_type.model_fields.items()
    }


def _plain(value: Any) -> Any:
    """Defaults as YAML-safe plain data."""
    import json

    return json.loads(json.dumps(value, default=str))

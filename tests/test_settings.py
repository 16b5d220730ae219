"""dagwright.yaml and environment settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dagwright.errors import DagwrightInvalidConfigError
from dagwright.settings import (
    K8sLauncher,
    PerUniqueValue,
    PostgresStorage,
    RunQueueSettings,
    Settings,
    SqliteStorage,
    StorageSettings,
    TagConcurrencyLimit,
    load_settings,
)

FULL_EXAMPLE = """
storage:
  sqlite: {}
run_queue:
  max_concurrent_runs: 10
  dequeue_interval_seconds: 1
  tag_concurrency_limits:
    - {key: team, value: docs, limit: 1}
    - {key: database, limit: 2}
    - {key: dagwright/backfill, value: {applyLimitPerUniqueValue: true}, limit: 3}
run_launcher:
  default: {standby_workers: 2}
run_monitoring: {enabled: true, poll_interval_seconds: 5}
run_retries: {enabled: true, max_retries: 0}
"""


def write(home: Path, text: str) -> Path:
    path = home / "dagwright.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(
    home: Path, text: str, env: dict[str, str] | None = None
) -> DagwrightInvalidConfigError:
    write(home, text)
    with pytest.raises(DagwrightInvalidConfigError) as info:
        load_settings(home, env or {})
    return info.value


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings == Settings()
    assert settings.storage.sqlite == SqliteStorage() and settings.storage.postgres is None
    assert settings.run_queue is None
    assert settings.run_launcher.default is not None and settings.run_launcher.k8s is None
    assert settings.run_launcher.default.standby_workers == 2
    assert settings.run_monitoring.enabled and settings.run_monitoring.poll_interval_seconds == 5
    assert settings.run_retries.enabled and settings.run_retries.max_retries == 0
    assert settings.storage_url(tmp_path) == f"sqlite:///{tmp_path.absolute()}/dagwright.db"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "storage:\n"])
def test_empty_file_and_empty_sections_give_defaults(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    assert load_settings(tmp_path, {}) == Settings()


def test_empty_run_queue_section_turns_the_queue_on(tmp_path: Path) -> None:
    write(tmp_path, "run_queue:\n")
    assert load_settings(tmp_path, {}).run_queue == RunQueueSettings()


def test_full_example(tmp_path: Path) -> None:
    write(tmp_path, FULL_EXAMPLE)
    settings = load_settings(tmp_path, {})
    queue = settings.run_queue
    assert queue is not None
    assert queue.max_concurrent_runs == 10 and queue.dequeue_interval_seconds == 1.0
    team, database, backfill = queue.tag_concurrency_limits
    assert team == TagConcurrencyLimit(key="team", value="docs", limit=1)
    assert (team.match_value, team.per_unique_value) == ("docs", False)
    assert (database.value, database.match_value, database.per_unique_value) == (None, None, False)
    assert backfill.key == "dagwright/backfill" and backfill.limit == 3
    assert backfill.value == PerUniqueValue(applyLimitPerUniqueValue=True)
    assert (backfill.match_value, backfill.per_unique_value) == (None, True)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    with pytest.raises(ValidationError):
        settings.run_retries = settings.run_retries


def test_k8s_launcher_and_no_cap(tmp_path: Path) -> None:
    write(
        tmp_path,
        "run_launcher: {k8s: {namespace: jobs, image: 'reg/img:1'}}\n"
        "run_queue: {max_concurrent_runs: -1}\n",
    )
    settings = load_settings(tmp_path, {})
    assert settings.run_launcher.k8s == K8sLauncher(namespace="jobs", image="reg/img:1")
    assert settings.run_launcher.default is None
    assert settings.run_queue is not None and settings.run_queue.max_concurrent_runs == -1


def test_sqlite_path_relative_to_home_or_absolute(tmp_path: Path) -> None:
    write(tmp_path, "storage: {sqlite: {path: data/runs.db}}")
    url = load_settings(tmp_path, {}).storage_url(tmp_path)
    assert url == f"sqlite:///{tmp_path.absolute()}/data/runs.db"
    write(tmp_path, "storage: {sqlite: {path: /var/db/x.db}}")
    assert load_settings(tmp_path, {}).storage_url(tmp_path) == "sqlite:////var/db/x.db"


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h/db", "postgresql+psycopg://u@h/db", "postgres://u@h/db"],
)
def test_postgres_urls_use_psycopg(tmp_path: Path, url: str) -> None:
    write(tmp_path, f"storage: {{postgres: {{url: '{url}'}}}}")
    settings = load_settings(tmp_path, {})
    assert settings.storage == StorageSettings(postgres=PostgresStorage(url=url))
    assert settings.storage_url(tmp_path) == "postgresql+psycopg://u@h/db"


def test_env_switches_storage_to_postgres(tmp_path: Path) -> None:
    write(tmp_path, "storage: {sqlite: {path: x.db}}\nrun_retries: {max_retries: 2}\n")
    settings = load_settings(tmp_path, {"DAGWRIGHT_PG_URL": "postgresql://me@db:5433/runs"})
    assert settings.storage_url(tmp_path) == "postgresql+psycopg://me@db:5433/runs"
    assert settings.storage.sqlite is None
    assert settings.run_retries.max_retries == 2
    assert load_settings(tmp_path, {"DAGWRIGHT_PG_URL": ""}).storage.sqlite is not None


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_PG_URL", "postgresql://env@h/db")
    assert load_settings(tmp_path).storage_url(tmp_path) == "postgresql+psycopg://env@h/db"


def test_bad_env_url_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        load_settings(tmp_path, {"DAGWRIGHT_PG_URL": "mysql://h/db"})
    assert (info.value.where, info.value.key) == ("DAGWRIGHT_PG_URL", "storage.postgres.url")


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        ("unknown: 1", "unknown", "Extra inputs are not permitted"),
        ("storage: {}", "storage", "exactly one of sqlite, postgres"),
        ("storage: {sqlite: {}, postgres: {url: 'postgresql://h/d'}}", "storage", "exactly one"),
        ("storage: {mysql: {}}", "storage.mysql", "Extra inputs"),
        ("storage: {sqlite: {file: x}}", "storage.sqlite.file", "Extra inputs"),
        ("storage: {postgres: {url: 'http://x'}}", "storage.postgres.url", "postgresql"),
        ("storage: {postgres: {}}", "storage.postgres.url", "Field required"),
        (
            "storage: {sqlite: {synchronous: SOMETIMES}}",
            "storage.sqlite.synchronous",
            "must be one of OFF, NORMAL, FULL, EXTRA",
        ),
        ("storage: {sqlite: {synchronous: 1}}", "storage.sqlite.synchronous", "string"),
        (
            "storage: {sqlite: {}, lock_timeout_seconds: 0}",
            "storage.lock_timeout_seconds",
            "greater than 0",
        ),
        (
            "storage: {sqlite: {}, write_retry_seconds: -1}",
            "storage.write_retry_seconds",
            "greater than or equal to 0",
        ),
        ("run_queue: {max_concurrent_runs: -2}", "run_queue.max_concurrent_runs", "-1"),
        ("run_queue: {max_concurrent_runs: '10'}", "run_queue.max_concurrent_runs", "integer"),
        ("run_queue: {max_concurrent_runs: 1.5}", "run_queue.max_concurrent_runs", "integer"),
        ("run_queue: {max_concurrent_runs: true}", "run_queue.max_concurrent_runs", "integer"),
        (
            "run_queue: {dequeue_interval_seconds: 0}",
            "run_queue.dequeue_interval_seconds",
            "greater than 0",
        ),
        ("run_queue: {dequeue_interval_seconds: .inf}", "run_queue.dequeue_interval_seconds", ""),
        ("run_queue: {tag_concurrency_limits: {key: a}}", "run_queue.tag_concurrency_limits", ""),
        (
            "run_queue: {tag_concurrency_limits: [{key: t, limit: 1}, {key: t, limit: -1}]}",
            "run_queue.tag_concurrency_limits.1.limit",
            "greater than or equal to 0",
        ),
        (
            "run_queue: {tag_concurrency_limits: [{key: 'has space', limit: 1}]}",
            "run_queue.tag_concurrency_limits.0.key",
            "prefix/name",
        ),
        (
            "run_queue: {tag_concurrency_limits: [{key: team}]}",
            "run_queue.tag_concurrency_limits.0.limit",
            "Field required",
        ),
        (
            "run_queue: {tag_concurrency_limits: [{key: team, value: 5, limit: 1}]}",
            "run_queue.tag_concurrency_limits.0.value",
            "applyLimitPerUniqueValue",
        ),
        (
            "run_queue: {tag_concurrency_limits: [{key: t, value: {perValue: true}, limit: 1}]}",
            "run_queue.tag_concurrency_limits.0.value",
            "applyLimitPerUniqueValue",
        ),
        (
            "run_queue: {tag_concurrency_limits: [{key: t, limit: 1, max: 2}]}",
            "run_queue.tag_concurrency_limits.0.max",
            "Extra inputs",
        ),
        ("run_launcher: {default: {}, k8s: {}}", "run_launcher", "exactly one"),
        ("run_launcher: {docker: {}}", "run_launcher.docker", "Extra inputs"),
        (
            "run_launcher: {default: {standby_workers: -1}}",
            "run_launcher.default.standby_workers",
            "greater than or equal",
        ),
        ("run_monitoring: {poll_interval_seconds: -5}", "run_monitoring.poll_interval_seconds", ""),
        ("run_monitoring: {enabled: maybe}", "run_monitoring.enabled", "boolean"),
        ("run_retries: {max_retries: -1}", "run_retries.max_retries", "greater than or equal"),
        ("run_retries: 3", "run_retries", ""),
        ("tag_policies: [{required: true}]", "tag_policies.0.key", "Field required"),
        ("tag_policies: [{key: 'a b'}]", "tag_policies.0.key", "prefix/name"),
        ("tag_policies: [{key: dagwright/priority}]", "tag_policies.0.key", "system tags"),
        ("tag_policies: [{key: t, pattern: '(['}]", "tag_policies.0.pattern", "regular"),
        ("tag_policies: [{key: t, values: [1]}]", "tag_policies.0.values.0", "string"),
        ("tag_policies: [{key: t, required: yes please}]", "tag_policies.0.required", "boolean"),
        ("tag_policies: [{key: t, jobs: 'a*'}]", "tag_policies.0.jobs", ""),
        ("tag_policies: [{key: t, allowed: [a]}]", "tag_policies.0.allowed", "Extra inputs"),
        ("metadata_policies: [{key: ''}]", "metadata_policies.0.key", "at least 1"),
        ("metadata_policies: [{key: o, values: [a]}]", "metadata_policies.0.values", "Extra"),
    ],
)
def test_errors_name_file_key_and_rule(tmp_path: Path, text: str, key: str, rule: str) -> None:
    error = config_error(tmp_path, text)
    assert error.where == str(tmp_path / "dagwright.yaml")
    assert error.key == key
    assert rule in error.rule
    assert str(tmp_path / "dagwright.yaml") in str(error) and key in str(error)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    error = config_error(tmp_path, "run_queue:\n  max_concurrent_runs: [1,\n")
    assert error.where == str(tmp_path / "dagwright.yaml") and error.key is None
    assert "invalid YAML at line" in error.rule


@pytest.mark.parametrize("text", ["- storage\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    error = config_error(tmp_path, text)
    assert error.key is None and "top level must be a mapping" in error.rule


def test_several_errors_are_counted(tmp_path: Path) -> None:
    error = config_error(tmp_path, "a: 1\nb: 2\n")
    assert error.key == "a" and error.rule.endswith("(and 1 more)")


# -- celery: and outputs: ----------------------------------------------------------------


def _write(home: Path, text: str) -> Path:
    (home / "dagwright.yaml").write_text(text)
    return home


def test_celery_section_with_defaults(tmp_path: Path) -> None:
    home = _write(tmp_path, "celery:\n  broker_url: amqp://guest@127.0.0.1:5672//\n")
    celery = load_settings(home, {}).celery
    assert celery is not None
    assert (celery.broker_url, celery.default_queue, celery.default_priority) == (
        "amqp://guest@127.0.0.1:5672//",
        "dagwright",
        5,
    )


def test_no_celery_section_means_none(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {}).celery is None


def test_celery_broker_env_overrides_the_file(tmp_path: Path) -> None:
    home = _write(tmp_path, "celery: {broker_url: 'redis://a:6379/0', default_queue: etl}\n")
    celery = load_settings(home, {"DAGWRIGHT_CELERY_BROKER_URL": "redis://b:6379/3"}).celery
    assert celery is not None
    assert (celery.broker_url, celery.default_queue) == ("redis://b:6379/3", "etl")
    alone = load_settings(tmp_path / "none", {"DAGWRIGHT_CELERY_BROKER_URL": "redis://c/1"})
    assert alone.celery is not None and alone.celery.broker_url == "redis://c/1"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("celery: {broker_url: 'http://x'}", "celery.broker_url"),
        ("celery: {default_priority: 'high'}", "celery.default_priority"),
        ("celery: {default_queue: ''}", "celery.default_queue"),
        ("celery: {step_attempts: 0}", "celery.step_attempts"),
        ("celery: {brokr: 'redis://x'}", "celery.brokr"),
        ("outputs: {database: {max_bytes: 0}}", "outputs.database.max_bytes"),
        ("outputs: {pickle: {}, database: {}}", "outputs"),
    ],
)
def test_bad_celery_and_outputs_settings_name_file_and_key(
    tmp_path: Path, text: str, key: str
) -> None:
    home = _write(tmp_path, text + "\n")
    with pytest.raises(DagwrightInvalidConfigError) as info:
        load_settings(home, {})
    assert (info.value.where, info.value.key) == (str(home / "dagwright.yaml"), key)


def test_bad_broker_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(DagwrightInvalidConfigError) as info:
        load_settings(tmp_path, {"DAGWRIGHT_CELERY_BROKER_URL": "ftp://x"})
    assert (info.value.where, info.value.key) == (
        "DAGWRIGHT_CELERY_BROKER_URL",
        "celery.broker_url",
    )


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("", "pickle"),
        ("celery: {}", "database:67108864"),  # a celery instance: hosts share no disk
        ("celery: {}\noutputs: {pickle: {}}", "pickle"),
        ("outputs: {database: {max_bytes: 1000}}", "database:1000"),
        ("outputs:\n  database:", "database:67108864"),
    ],
)
def test_output_store_spec(tmp_path: Path, text: str, spec: str) -> None:
    assert load_settings(_write(tmp_path, text + "\n"), {}).output_store_spec() == spec


def test_sqlite_commits_are_durable_unless_the_home_opts_out(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {}).storage.options().sqlite_synchronous == "FULL"
    write(tmp_path, "storage: {sqlite: {synchronous: normal}, write_retry_seconds: 0}")
    options = load_settings(tmp_path, {}).storage.options()
    assert (options.sqlite_synchronous, options.write_retry) == ("NORMAL", 0.0)
    assert options.lock_timeout == 30.0


def test_env_postgres_url_keeps_the_storage_timeouts(tmp_path: Path) -> None:
    write(tmp_path, "storage: {sqlite: {}, lock_timeout_seconds: 2}")
    settings = load_settings(tmp_path, {"DAGWRIGHT_PG_URL": "postgresql://u@h/d"})
    assert settings.storage.postgres is not None
    assert settings.storage.options().lock_timeout == 2.0


def test_compute_logs_cap_defaults_to_4_mib_and_is_read(tmp_path: Path) -> None:
    assert Settings().compute_logs.max_bytes_per_step == 4 * 1024 * 1024
    write(tmp_path, "compute_logs: {max_bytes_per_step: 1024}\n")
    assert load_settings(tmp_path, {}).compute_logs.max_bytes_per_step == 1024


@pytest.mark.parametrize(
    ("text", "key", "rule"),
    [
        (
            "compute_logs: {max_bytes_per_step: -1}",
            "compute_logs.max_bytes_per_step",
            "greater than or",
        ),
        ("compute_logs: {max_bytes_per_step: '4'}", "compute_logs.max_bytes_per_step", "integer"),
        ("compute_logs: {max_bytes: 4}", "compute_logs.max_bytes", "Extra inputs"),
    ],
)
def test_bad_compute_logs_settings_name_the_key(
    tmp_path: Path, text: str, key: str, rule: str
) -> None:
    error = config_error(tmp_path, text)
    assert error.key == key and rule in error.rule


def test_tag_and_metadata_policies(tmp_path: Path) -> None:
    (tmp_path / "dagwright.yaml").write_text(
        "tag_policies:\n"
        "  - {key: team, required: true, values: [docs, ml], description: owning team}\n"
        "  - {key: ticket, pattern: '^[A-Z]+-[0-9]+$', jobs: ['finance_*']}\n"
        "metadata_policies:\n"
        "  - {key: owner, required: true}\n"
    )
    settings = load_settings(tmp_path, env={})
    team, ticket = settings.tag_policies
    assert (team.key, team.required, team.values, team.description) == (
        "team",
        True,
        ("docs", "ml"),
        "owning team",
    )
    assert ticket.pattern == "^[A-Z]+-[0-9]+$" and ticket.jobs == ("finance_*",)
    assert not ticket.required and ticket.values is None
    (owner,) = settings.metadata_policies
    assert owner.key == "owner" and owner.required and owner.jobs is None
    assert load_settings(tmp_path / "none", env={}).tag_policies == ()

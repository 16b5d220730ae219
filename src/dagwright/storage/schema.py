"""The database schema: one SQLAlchemy Core ``MetaData`` for every table dagwright owns.

A record is stored as a versioned JSON ``body`` plus the few columns that queries filter
or sort on. The Alembic migrations in ``migrations/versions`` build exactly this schema
(a test compares them).

Tag values are indexed through their *index form*: see :mod:`dagwright.storage.tag_index`.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dagwright.storage.tag_index import SHORT_VALUE_CHARS

#: Every dagwright table (``alembic_version`` excepted).
metadata: Final = MetaData()

#: One row per run; ``id`` is the storage id and gives the order of creation.
runs: Final = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("job_name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("started_at", Double, nullable=True),
    Column("ended_at", Double, nullable=True),
    Column("body", Text, nullable=False),
    # the run clock when the row was last written (see dagwright.storage.changes)
    Column("change_seq", BigInteger, nullable=False, server_default="0"),
    # the code location of a workspace the run's job came from (CodePointer.location_name)
    Column("location_name", String(255), nullable=True),
    UniqueConstraint("run_id", name="uq_runs_run_id"),
    Index("ix_runs_job_name_id", "job_name", "id"),
    Index("ix_runs_status_id", "status", "id"),
    Index("ix_runs_created_at", "created_at"),
    Index("ix_runs_status_ended_at", "status", "ended_at"),
    Index("ix_runs_change_seq", "change_seq"),
    Index("ix_runs_location_name_id", "location_name", "id"),
)

#: The run clock: one row. On PostgreSQL every transaction that writes runs ticks ``seq``
#: (SQLite needs no row for it); ``epoch`` moves on when runs are deleted (see
#: :mod:`dagwright.storage.changes`).
run_clock: Final = Table(
    "run_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("epoch", BigInteger, nullable=False),
)

#: One row per tag of a run; at most one row per (run, key).
run_tags: Final = Table(
    "run_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_sid",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE", name="fk_run_tags_run_sid"),
        nullable=False,
    ),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    Column("value_idx", String(SHORT_VALUE_CHARS + 1), nullable=False),
    Index("ix_run_tags_key_value_run_sid", "key", "value_idx", "run_sid"),
    Index("ux_run_tags_run_sid_key", "run_sid", "key", unique=True),
)

#: The events of every run, in order of storage id.
events: Final = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_events_run_id"),
        nullable=False,
    ),
    Column("event_type", String(32), nullable=False),
    Column("step_key", String(255), nullable=True),
    Column("timestamp", Double, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_events_run_id_id", "run_id", "id"),
)

#: Step logs: each step's stdout and stderr, in chunks (see ``storage/compute_logs.py``).
compute_logs: Final = Table(
    "compute_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_compute_logs_run_id"),
        nullable=False,
    ),
    Column("step_key", String(255), nullable=False),
    Column("stream", String(8), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_compute_logs_run_id_step_key_id", "run_id", "step_key", "id"),
)

#: The process executing each launched run, and its latest heartbeat (one row per run).
run_workers: Final = Table(
    "run_workers",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_run_workers_run_id"),
        primary_key=True,
    ),
    Column("pid", Integer, nullable=True),
    Column("host", String(255), nullable=False),
    Column("started_at", Double, nullable=False),
    Column("heartbeat_at", Double, nullable=False),
)

#: The latest heartbeat of each loop of each daemon (one row per loop name and daemon);
#: ``stopped_at`` is set when the daemon stopped cleanly.
daemon_heartbeats: Final = Table(
    "daemon_heartbeats",
    metadata,
    Column("name", String(64), nullable=False),
    Column("daemon_id", String(255), nullable=False),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("interval_seconds", Double, nullable=True),
    Column("heartbeat_at", Double, nullable=False),
    Column("stopped_at", Double, nullable=True),
    PrimaryKeyConstraint("name", "daemon_id", name="pk_daemon_heartbeats"),
)

#: Alembic's own table, declared apart so that a fresh database can be stamped directly.
alembic_metadata: Final = MetaData()

#: The schema revision the database is at (one row).
alembic_version: Final = Table(
    "alembic_version",
    alembic_metadata,
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


#: The state of each schedule and sensor: RUNNING/STOPPED, cursor, last evaluation.
instigator_state: Final = Table(
    "instigator_state",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("cursor", Text, nullable=True),
    Column("last_tick_at", Double, nullable=True),
    Column("updated_at", Double, nullable=False),
)

#: One row per evaluation of a schedule or sensor; the body holds runs, reason, error.
ticks: Final = Table(
    "ticks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_ticks_kind_name_id", "kind", "name", "id"),
    Index("ix_ticks_kind_name_timestamp", "kind", "name", "timestamp"),
)

#: Run keys each sensor has used (a key is used once per sensor, across restarts).
#: ``key_idx`` is the :func:`index_form` of the key, so any key length can be indexed.
sensor_run_keys: Final = Table(
    "sensor_run_keys",
    metadata,
    Column("sensor_name", String(255), primary_key=True),
    Column("key_idx", String(SHORT_VALUE_CHARS + 1), primary_key=True),
    Column("run_key", Text, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
)

#: One row per backfill; ``id`` gives the order of creation (and the list cursor).
backfills: Final = Table(
    "backfills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("backfill_id", String(64), nullable=False),
    Column("job_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("backfill_id", name="uq_backfills_backfill_id"),
    Index("ix_backfills_status_id", "status", "id"),
)


#: Step outputs kept in the database (``outputs: {database: {}}``): one pickled value per
#: (run, op, output), so that hosts that share no disk pass outputs on.
step_outputs: Final = Table(
    "step_outputs",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_step_outputs_run_id"),
        nullable=False,
    ),
    Column("node", String(255), nullable=False),
    Column("output", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("value", LargeBinary, nullable=False),
    PrimaryKeyConstraint("run_id", "node", "output", name="pk_step_outputs"),
)

#: The worker running each step of a distributed (Celery) run: a step runs at most once
#: at a time; ``attempt`` counts the workers that claimed it.
step_claims: Final = Table(
    "step_claims",
    metadata,
    Column(
        "run_id",
        String(64),
        ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_step_claims_run_id"),
        nullable=False,
    ),
    Column("step_key", String(255), nullable=False),
    Column("worker", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("claimed_at", Double, nullable=False),
    Column("heartbeat_at", Double, nullable=False),
    PrimaryKeyConstraint("run_id", "step_key", name="pk_step_claims"),
)

#: Saved views of the runs list: a name, a run query and the columns shown.
run_views: Final = Table(
    "run_views",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("q", Text, nullable=False),
    Column("columns", Text, nullable=False),  # a JSON list of column names
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
)

#: One row per bulk action; the body holds the query and the action's parameters.
bulk_actions: Final = Table(
    "bulk_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bulk_id", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("count", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("bulk_id", name="uq_bulk_actions_bulk_id"),
)

#: The runs of a bulk action, fixed when it starts, each with its outcome (``pending``
#: until it is acted on, then ``done`` or ``refused`` with the reason).
bulk_results: Final = Table(
    "bulk_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "bulk_sid",
        Integer,
        ForeignKey("bulk_actions.id", ondelete="CASCADE", name="fk_bulk_results_bulk_sid"),
        nullable=False,
    ),
    Column("run_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_bulk_results_bulk_sid_outcome_id", "bulk_sid", "outcome", "id"),
)

#: Tag analytics (DESIGN §11), kept per tag key once the key is first asked for and
#: brought up to date from the run change feed on each later ask (see
#: ``storage/tag_stats.py``): where each key's figures stand in the feed (the
#: ``(change_seq, id)`` of the last run gone through),
tag_stats_keys: Final = Table(
    "tag_stats_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("sid", BigInteger, nullable=False),
)

#: what each run counts for under the key (its value, UTC day of creation, status and
#: duration bucket), so that a change takes its old share out before adding the new,
tag_stats_runs: Final = Table(
    "tag_stats_runs",
    metadata,
    Column("key", String(255), nullable=False),
    Column("run_sid", Integer, nullable=False),
    Column("value_idx", String(SHORT_VALUE_CHARS + 1), nullable=False),
    Column("day", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("bucket", Integer, nullable=True),
    PrimaryKeyConstraint("key", "run_sid", name="pk_tag_stats_runs"),
    sqlite_with_rowid=False,
)

#: the runs of each value per day by outcome,
tag_stats_days: Final = Table(
    "tag_stats_days",
    metadata,
    Column("key", String(255), nullable=False),
    Column("value_idx", String(SHORT_VALUE_CHARS + 1), nullable=False),
    Column("day", Integer, nullable=False),
    Column("runs", Integer, nullable=False),
    Column("succeeded", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("canceled", Integer, nullable=False),
    PrimaryKeyConstraint("key", "value_idx", "day", name="pk_tag_stats_days"),
    sqlite_with_rowid=False,
)

#: and the finished runs of each value per day by duration bucket (for percentiles).
tag_stats_durations: Final = Table(
    "tag_stats_durations",
    metadata,
    Column("key", String(255), nullable=False),
    Column("value_idx", String(SHORT_VALUE_CHARS + 1), nullable=False),
    Column("day", Integer, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("runs", Integer, nullable=False),
    PrimaryKeyConstraint("key", "value_idx", "day", "bucket", name="pk_tag_stats_durations"),
    sqlite_with_rowid=False,
)

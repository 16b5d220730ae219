"""A typical Dagster job file, exactly as it is written for Dagster (``from dagster import``).

It is not importable here as it stands: ``tests/cli/test_port.py`` copies it, ports the copy
with ``dagwright port --write`` and runs it with ``dagwright job execute``, and (where the
Dagster venv of ``bench/`` exists) runs this original with Dagster to compare the results.

What it uses: a graph made into two jobs by two ``to_job`` calls with different names and
configs, ops with ``config_schema`` (``Field`` with defaults and descriptions, a nested dict,
``Noneable``, a list, a scalar schema), ``Output`` with metadata (returned, and yielded for
several outputs out of order), ``In(dagster_type=...)``, and Dagster's ``dagster/`` tags.
"""

from dagster import (
    DagsterInstance,
    Field,
    In,
    MetadataValue,
    Noneable,
    Out,
    Output,
    graph,
    job,
    op,
)


@op(
    config_schema={
        "rows": Field(int, default_value=6, description="how many rows to make"),
        "prefix": str,
        "source": {"table": Field(str, default_value="events"), "limit": Noneable(int)},
    },
    tags={"kind": "extract"},
)
def extract(context):
    config = context.op_config
    count = config["rows"] if config["source"]["limit"] is None else config["source"]["limit"]
    rows = [f"{config['prefix']}-{config['source']['table']}-{i}" for i in range(count)]
    context.log.info(f"extracted {len(rows)} rows")
    return Output(
        rows,
        metadata={"row_count": len(rows), "docs": MetadataValue.url("https://example.com/x")},
    )


@op(
    ins={"rows": In(dagster_type=list)},
    out={"kept": Out(list), "dropped": Out(int)},
    config_schema={"keep_every": Field(int, default_value=2), "skip": [str]},
)
def split(context, rows):
    step = context.op_config["keep_every"]
    skip = set(context.op_config["skip"])
    kept = [row for index, row in enumerate(rows) if index % step == 0 and row not in skip]
    yield Output(len(rows) - len(kept), "dropped")
    yield Output(kept, output_name="kept", metadata={"kept": len(kept)})


@op(config_schema=str)
def report(context, kept, dropped):
    return f"{context.op_config}: kept {len(kept)}, dropped {dropped}"


@graph
def etl():
    kept, dropped = split(extract())
    report(kept, dropped)


#: The run config each job runs with; tests read it to run both sides alike.
DEV_CONFIG = {
    "ops": {
        "extract": {"config": {"prefix": "dev"}},
        "split": {"config": {"skip": []}},
        "report": {"config": "dev report"},
    }
}
PROD_CONFIG = {
    "ops": {
        "extract": {"config": {"prefix": "prod", "rows": 9, "source": {"limit": 7}}},
        "split": {"config": {"keep_every": 3, "skip": ["prod-events-3"]}},
        "report": {"config": "prod report"},
    }
}

etl_dev = etl.to_job(name="etl_dev", config=DEV_CONFIG, tags={"env": "dev"})
etl_prod = etl.to_job(
    name="etl_prod",
    config=PROD_CONFIG,
    tags={"env": "prod", "dagster/priority": "5", "dagster/max_retries": "1"},
    description="The production ETL.",
)


@op
def hello():
    return "hello"


@job(tags={"dagster/priority": "-1"})
def say_hello():
    hello()


def throwaway_instance():
    """An in-memory instance to run the jobs in."""
    return DagsterInstance.ephemeral()

"""``dagwright k8s manifest``: the Kubernetes Job a run would be launched as."""

from __future__ import annotations

import click

from dagwright.cli.common import RunArgs, echo_json, open_instance, run_options


@click.group("k8s")
def k8s_group() -> None:
    """Runs as Kubernetes Jobs (needs pip install 'dagwright[k8s]')."""


@k8s_group.command("manifest")
@run_options
@click.option(
    "--image", help="The image (default: run_launcher.k8s.image or $DAGWRIGHT_CURRENT_IMAGE)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def manifest_command(args: RunArgs, image: str | None, as_json: bool) -> None:
    """Print the Job a run of the job would be created as, exactly as it would be sent:
    run_launcher.k8s of $DAGWRIGHT_HOME, then the job's, then these launch tags'
    dagwright-k8s/config, merged and checked against the Kubernetes schema. Nothing is
    stored and no cluster is needed."""
    with open_instance() as instance:
        manifest = instance.k8s_manifest(
            args.job,
            run_config=args.run_config,
            tags=args.tags,
            op_selection=args.op_selection,
            partition_key=args.partition_key,
            image=image,
        )
    if as_json:
        echo_json(manifest.body)
        return
    import yaml

    click.echo(yaml.safe_dump(manifest.body, sort_keys=False).rstrip())

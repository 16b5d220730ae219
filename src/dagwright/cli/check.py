"""``dagwright check -f FILE [-m MODULE] [--strict]``: jobs against the instance's policies."""

from __future__ import annotations

import click

from dagwright.cli.common import CodeArgs, code_options, load_code
from dagwright.runs.policies import Violation, job_violations

#: Exit code when a job breaks a policy (as ``ruff check``).
EXIT_VIOLATIONS = 1


@click.command("check")
@code_options
@click.option(
    "--strict", is_flag=True, help="Fail also on required tags left to be given at launch."
)
def check_command(code: CodeArgs, strict: bool) -> None:
    """Check the jobs of the code (-f/-m/-w) against the tag and metadata policies of
    $DAGWRIGHT_HOME/dagwright.yaml (no database is opened), for CI pipelines.

    Lists every violation, one per line: a job tag with a disallowed value or not matching
    its pattern, required metadata missing. A required tag the job does not set itself is
    listed as "required at launch" and fails only with --strict. Exits 0 when clean, 1 when
    a job breaks a policy, 2 on bad input (the file, the module or dagwright.yaml).
    """
    from dagwright.settings import home_from_env, load_settings

    settings = load_settings(home_from_env())
    definitions = load_code(code)
    failed = 0
    for name, job_def in definitions.jobs.items():
        for violation in job_violations(
            settings.tag_policies,
            settings.metadata_policies,
            name,
            job_def.tags,
            job_def.metadata.keys(),
        ):
            fails = strict or not violation.at_launch
            failed += fails
            click.echo(_line(name, violation, fails=fails))
    jobs = len(definitions.jobs)
    verdict = f"{failed} violation(s)" if failed else "no violations"
    click.echo(f"checked {jobs} job(s): {verdict}", err=True)
    click.get_current_context().exit(EXIT_VIOLATIONS if failed else 0)


def _line(job_name: str, violation: Violation, *, fails: bool) -> str:
    level = "error" if fails else "note"
    if violation.at_launch:
        what = f"required at launch (tag policy {violation.key!r})"
    else:
        what = violation.rule
    return f"{job_name}: {level}: {violation.kind} {violation.key!r}: {what}"

"""Tag and metadata policies (``tag_policies:`` / ``metadata_policies:`` in
``dagwright.yaml``): which apply to a job, and what breaks them.

Pure functions of the policies, a job name and its tags or metadata. They are enforced at
submit (:func:`check_run`, raising) and listed by ``dagwright check`` (:func:`job_violations`).
System tags (``dagwright/...``, set by dagwright) are never subject to a policy.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagwright.errors import DagwrightInvalidMetadataError, DagwrightInvalidTagError

if TYPE_CHECKING:
    from dagwright.settings import MetadataPolicy, TagPolicy


@dataclass(frozen=True)
class Violation:
    """One broken policy.

    Attributes:
        kind: ``tag`` or ``metadata``.
        key: the tag or metadata key.
        rule: what is wrong, naming the policy (``required by tag policy 'team'`` …).
        at_launch: a required tag the job does not set itself: a launch may still give it.
    """

    kind: str
    key: str
    rule: str
    at_launch: bool = False


def applies(policy: TagPolicy | MetadataPolicy, job_name: str) -> bool:
    """Whether ``policy`` applies to the job (its ``jobs`` globs, or every job)."""
    if policy.jobs is None:
        return True
    return any(fnmatch.fnmatchcase(job_name, glob) for glob in policy.jobs)


def policies_for(
    policies: Sequence[TagPolicy | MetadataPolicy], job_name: str
) -> list[TagPolicy | MetadataPolicy]:
    """The policies that apply to the job, in the order configured."""
    return [policy for policy in policies if applies(policy, job_name)]


def value_problem(policy: TagPolicy, value: str) -> str | None:
    """Why ``value`` breaks the policy's ``values`` or ``pattern``, or None."""
    if policy.values is not None and value not in policy.values:
        allowed = ", ".join(policy.values)
        return f"value {value!r} is not allowed by tag policy {policy.key!r} (allowed: {allowed})"
    if policy.pattern is not None and re.fullmatch(policy.pattern, value) is None:
        pattern, key = policy.pattern, policy.key
        return f"value {value!r} does not match the pattern {pattern!r} of tag policy {key!r}"
    return None


def tag_violations(
    policies: Sequence[TagPolicy], job_name: str, tags: Mapping[str, str]
) -> list[Violation]:
    """Every way a run's merged tags break the tag policies that apply to its job."""
    found = []
    for policy in policies:
        if not applies(policy, job_name):
            continue
        if policy.key not in tags:
            if policy.required:
                rule = f"required by tag policy {policy.key!r} for job {job_name!r}"
                found.append(Violation("tag", policy.key, rule, at_launch=True))
            continue
        problem = value_problem(policy, tags[policy.key])
        if problem is not None:
            found.append(Violation("tag", policy.key, problem))
    return found


def metadata_violations(
    policies: Sequence[MetadataPolicy], job_name: str, keys: Collection[str]
) -> list[Violation]:
    """The required metadata keys (of the policies that apply) the job does not define."""
    return [
        Violation(
            "metadata",
            policy.key,
            f"required by metadata policy {policy.key!r} for job {job_name!r}",
        )
        for policy in policies
        if policy.required and policy.key not in keys and applies(policy, job_name)
    ]


def job_violations(
    tag_policies: Sequence[TagPolicy],
    metadata_policies: Sequence[MetadataPolicy],
    job_name: str,
    tags: Mapping[str, str],
    metadata_keys: Collection[str],
) -> list[Violation]:
    """What ``dagwright check`` lists for a job: its own tags and metadata against the
    policies (a required tag it does not set is ``at_launch``)."""
    return tag_violations(tag_policies, job_name, tags) + metadata_violations(
        metadata_policies, job_name, metadata_keys
    )


def check_run(
    tag_policies: Sequence[TagPolicy],
    metadata_policies: Sequence[MetadataPolicy],
    job_name: str,
    tags: Mapping[str, str],
    metadata_keys: Collection[str] | None,
) -> None:
    """Refuse a run that breaks a policy (the first violation found).

    Args:
        tag_policies: the instance's tag policies.
        metadata_policies: the instance's metadata policies.
        job_name: the run's job.
        tags: the run's merged tags.
        metadata_keys: the job's metadata keys; None: not known here (a retry made from
            the stored run alone), so metadata is not checked.

    Raises:
        DagwrightInvalidTagError: a tag breaks a tag policy (key and policy named).
        DagwrightInvalidMetadataError: required metadata is missing.
    """
    for violation in tag_violations(tag_policies, job_name, tags):
        raise DagwrightInvalidTagError(violation.key, violation.rule)
    if metadata_keys is None:
        return
    for violation in metadata_violations(metadata_policies, job_name, metadata_keys):
        raise DagwrightInvalidMetadataError(violation.key, violation.rule)

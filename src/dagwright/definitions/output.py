"""``Output``: a value an op returns or yields for one of its outputs, with metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import DagwrightDefinitionError
from dagwright.metadata import MetadataValue, normalize_metadata


@dataclass(frozen=True)
class Output:
    """One output of an op, as the op returns or yields it.

    ``return Output(value, metadata={...})`` for an op with one output;
    ``yield Output(value, "name")`` once per output (in any order) for several.

    Attributes:
        value: the output's value (what downstream ops receive).
        output_name: which output (default ``result``, the name of a single output).
        metadata: typed metadata about the value (plain values are converted, as for job
            metadata); recorded on the step's ``STEP_SUCCESS`` event.

    Raises:
        DagwrightDefinitionError: the output name is not a string.
        DagwrightInvalidMetadataError: a metadata key or value is not allowed.
    """

    value: Any
    output_name: str = "result"
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.output_name, str) or not self.output_name:
            raise DagwrightDefinitionError(
                f"Output output_name must be a non-empty str, got {self.output_name!r}"
            )
        object.__setattr__(self, "metadata", normalize_metadata(self.metadata))

    def metadata_json(self) -> dict[str, dict[str, Any]]:
        """The metadata in its JSON form, ``{key: {"type", "value"}}``."""
        return {key: value.to_json() for key, value in self.metadata.items()}

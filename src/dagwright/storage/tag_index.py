"""The index form of a tag value (``run_tags.value_idx``).

Tag values and the index
------------------------
A tag value may be up to 64 KiB, but a PostgreSQL b-tree entry must stay under ~2.7 KB,
so ``run_tags.value`` itself is never indexed. Each row also carries ``value_idx``, the
*index form* of the value (:func:`index_form`):

* a value of at most :data:`SHORT_VALUE_CHARS` characters is its own index form;
* a longer value becomes its first 64 characters, ``~`` and the SHA-256 hex digest of
  the whole value — always exactly ``SHORT_VALUE_CHARS + 1`` characters.

The two forms have different lengths, so two values share an index form only if they are
equal (up to a SHA-256 collision). Equality filters compare ``value_idx`` with the index
form of the wanted value and walk ``(key, value_idx, run_sid)``; insertion never fails
whatever the value's size, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from typing import Final

#: Longest tag value (in characters) that is its own index form.
SHORT_VALUE_CHARS: Final = 128

#: Characters of a long value kept at the front of its index form.
LONG_PREFIX_CHARS: Final = 64


def index_form(value: str) -> str:
    """The form of a tag value stored in (and compared through) ``run_tags.value_idx``."""
    if len(value) <= SHORT_VALUE_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[:LONG_PREFIX_CHARS]}~{digest}"

"""go-yaml's guard against alias bombs, shared by the readers that follow Go's YAML decoders.

go-yaml v2 (decode.go) and yaml.v3 refuse a document whose share of decodes made through aliases
exceeds ``allowed_alias_ratio(decodes)`` once past 1000 decodes, more than 100 of them through
aliases ("document contains excessive aliasing").  What counts as a decode and as aliased is each
reader's own accounting; the ratio is the same.
"""

from __future__ import annotations

__all__ = ["allowed_alias_ratio"]

_LOW = 400_000
_HIGH = 4_000_000


def allowed_alias_ratio(decodes: int) -> float:
    """The largest allowed share of aliased decodes after ``decodes`` decodes: 0.99 up to 400,000,
    falling linearly to 0.10 at 4,000,000 and beyond."""
    if decodes <= _LOW:
        return 0.99
    if decodes >= _HIGH:
        return 0.10
    return 0.99 - 0.89 * ((decodes - _LOW) / (_HIGH - _LOW))

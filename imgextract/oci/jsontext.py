"""``json.loads`` for documents the product does not control (manifests, configs, registry answers,
signature payloads, catalogs, the user's auth and policy files).

Python's decoder has two failures that are not :class:`json.JSONDecodeError`: nesting deeper than
the interpreter's recursion limit (about 1000 levels) raises RecursionError, and an integer of more
than 4300 digits raises a bare ValueError (the int conversion limit).  Both are invalid input, not
bugs: here they are a :class:`json.JSONDecodeError` (a ValueError) like any other, so each caller's
own "not valid JSON" error covers them.  Go's encoding/json also refuses deep nesting ("exceeded
max depth", at 10000 levels) and a number out of float64 range.
"""

from __future__ import annotations

import json
from typing import Any

_INT_LIMIT = "Exceeds the limit"  # the start of int()'s message when the digit limit is hit


def _invalid(doc: str | bytes | bytearray, message: str, pos: int = 0) -> json.JSONDecodeError:
    text = doc if isinstance(doc, str) else ""
    return json.JSONDecodeError(message, text, min(pos, len(text)))


def loads(data: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads(data, **kwargs)``; deep nesting and huge integers are JSONDecodeError."""
    try:
        return json.loads(data, **kwargs)
    except RecursionError:
        raise _invalid(data, "exceeded max depth") from None
    except ValueError as exc:
        if type(exc) is ValueError and str(exc).startswith(_INT_LIMIT):
            raise _invalid(data, "number out of range") from None
        raise


def raw_decode(decoder: json.JSONDecoder, text: str, pos: int = 0) -> tuple[Any, int]:
    """``decoder.raw_decode(text, pos)`` with the same two failures made JSONDecodeError."""
    try:
        return decoder.raw_decode(text, pos)
    except RecursionError:
        raise _invalid(text, "exceeded max depth", pos) from None
    except ValueError as exc:
        if type(exc) is ValueError and str(exc).startswith(_INT_LIMIT):
            raise _invalid(text, "number out of range", pos) from None
        raise

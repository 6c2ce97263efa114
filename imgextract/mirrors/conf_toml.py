"""Decode a registries.conf file: its common flat form by a strict reader, TOML for the rest.

Most hosts carry a commented-out registries.conf and drop-ins of ``[aliases]`` (distributions ship
``shortnames.conf``); importing and running ``tomllib`` for them costs more than the rest of a pull's
configuration.  The reader takes only ASCII lines that are blank, comments, one ``[aliases]``
header, and ``key = "string"`` pairs (bare or plain-quoted keys, no escapes, no duplicates), and
returns exactly what ``tomllib.loads`` returns for them; anything else (arrays, tables of tables,
escapes, literal strings, dotted keys, CR, non-ASCII, ...) is decoded by ``tomllib``.
"""

from __future__ import annotations

import re
from typing import Any

_STRING = r'"[ !#-\[\]-~]*"'  # a basic string without escapes or control characters
_COMMENT = r"(?:#[\t -~]*)?"
_PAIR = re.compile(
    rf"[ \t]*(?:(?P<bare>[A-Za-z0-9_-]+)|(?P<quoted>{_STRING}))[ \t]*=[ \t]*(?P<value>{_STRING})[ \t]*{_COMMENT}"
)
_BLANK = re.compile(rf"[ \t]*{_COMMENT}")
_ALIASES = re.compile(rf"[ \t]*\[aliases\][ \t]*{_COMMENT}")


def flat_document(text: str) -> dict[str, Any] | None:
    """What ``tomllib.loads(text)`` returns when ``text`` is in the flat form, else None."""
    if not text.isascii() or "\r" in text:
        return None
    doc: dict[str, Any] = {}
    table = doc
    for line in text.split("\n"):
        m = _PAIR.fullmatch(line)
        if m is not None:
            key = m["bare"] if m["bare"] is not None else m["quoted"][1:-1]
            if key in table:
                return None
            table[key] = m["value"][1:-1]
        elif _BLANK.fullmatch(line):
            continue
        elif _ALIASES.fullmatch(line) and table is doc and "aliases" not in doc:
            table = doc["aliases"] = {}
        else:
            return None
    return doc


def decode(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, without ``tomllib`` for the flat form (raises its TOMLDecodeError).

    tomllib's two Python-specific failures are TOMLDecodeError too: arrays or inline tables nested
    past the recursion limit (RecursionError) and an integer of more than 4300 digits (int()'s
    ValueError, whose hint to call ``sys.set_int_max_str_digits`` means nothing to a user)."""
    doc = flat_document(text)
    if doc is not None:
        return doc
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("nested too deeply") from None
    except ValueError as exc:
        if type(exc) is ValueError and str(exc).startswith("Exceeds the limit"):
            raise tomllib.TOMLDecodeError("integer out of range") from None
        raise

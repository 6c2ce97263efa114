"""The one place that removes secrets from text: messages, log records, error strings.

Every credential the product learns (passwords, identity tokens, registry tokens, bearer
tokens, and the ``base64(user:password)`` forms sent in ``Authorization: Basic``) is
registered here with :func:`register_secret`; :func:`redact` replaces each registered value
with ``***``.  A few patterns are redacted even when the value was never registered:
``Authorization:`` header values, ``user:password@`` in URLs, token/password query
parameters and JSON fields.

:class:`RedactingFilter` is a :class:`logging.Filter` that redacts every record passing
through the handler it is attached to (message, arguments, exception and stack text).
"""

from __future__ import annotations

import base64
import logging
import re
import threading

MASK = "***"

# Values shorter than this are not registered: replacing every occurrence of a one- or
# two-character string would mangle all messages while protecting nothing worth protecting.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()

# Compiled on the first redact(): most runs never print an error, and compiling these costs milliseconds.
_PATTERN_SOURCES: tuple[tuple[str, str], ...] = (
    # Authorization / Proxy-Authorization header values (scheme kept, credentials dropped).
    (
        (r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:basic|bearer)?\s*)[^\s\"',}]+"),
        r"\1" + MASK,
    ),
    # scheme://user:password@host
    ((r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + MASK + "@"),
    # ?access_token=... &refresh_token=... &password=... and presigned-URL signatures (S3, GCS, Azure SAS)
    (
        (
            r"(?i)([?&](?:access_token|refresh_token|token|password|secret|x-amz-signature|x-amz-security-token"
            r"|x-amz-credential|x-goog-signature|x-goog-credential|signature|sig)=)[^&\s\"']+"
        ),
        r"\1" + MASK,
    ),
    # JSON fields holding secrets: "token": "...", "Secret": "...", "auth": "..."
    (
        (
            r"(?i)(\"(?:token|access_token|refresh_token|password|secret|identitytoken|registrytoken|"
            r"identity_token|registry_token|auth)\"\s*:\s*\")(?:[^\"\\]|\\.)*(\")"
        ),
        r"\1" + MASK + r"\2",
    ),
)
_compiled: tuple[tuple[re.Pattern[str], str], ...] = ()


def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    global _compiled
    if not _compiled:
        _compiled = tuple((re.compile(source), replacement) for source, replacement in _PATTERN_SOURCES)
    return _compiled


def _variants(value: str) -> set[str]:
    """The value and the encodings of it that may appear in text (e.g. in a Basic header)."""
    out = {value}
    raw = value.encode("utf-8", "surrogateescape")
    out.add(base64.b64encode(raw).decode("ascii"))
    out.add(base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
    return out


def register_secret(value: str | None, *, username: str | None = None) -> None:
    """Remember ``value`` as a secret so :func:`redact` removes it from any text.

    With ``username``, ``user:value`` and ``base64(user:value)`` (the ``Authorization: Basic``
    and ``"auth"`` forms) are registered whatever the length of ``value``: those forms are
    long enough to replace safely, and a short password is still a password.  The bare value
    and its own encodings are registered when at least :data:`MIN_SECRET_LENGTH` characters
    long (masking every ``ab`` in every message would protect nothing and mangle everything).
    """
    global _ordered
    if not value:
        return
    new = (
        {v for v in _variants(value) if len(v) >= MIN_SECRET_LENGTH}
        if len(value) >= MIN_SECRET_LENGTH
        else set()
    )
    if username:
        pair = f"{username}:{value}"
        new.add(pair)
        new |= _variants(pair)
    new = {v for v in new if len(v) >= MIN_SECRET_LENGTH}
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        # Longest first, so a secret containing another is replaced whole.
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every registered secret and every recognised credential pattern masked."""
    if not text:
        return text
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _patterns():
        text = pattern.sub(replacement, text)
    return text


def forget_all_secrets() -> None:
    """Drop every registered secret (for tests)."""
    global _ordered
    with _lock:
        _secrets.clear()
        _ordered = ()


class RedactingFilter(logging.Filter):
    """Redacts each record that passes: formats it once, then stores the redacted text.

    Attach it to handlers (``handler.addFilter(RedactingFilter())``): handler filters see
    records propagated from every logger, logger filters do not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not stop logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handler: logging.Handler | None = None) -> RedactingFilter:
    """Add a :class:`RedactingFilter` to ``handler``, or to every handler of the root logger."""
    flt = RedactingFilter()
    handlers = [handler] if handler is not None else list(logging.getLogger().handlers)
    for h in handlers:
        if not any(isinstance(f, RedactingFilter) for f in h.filters):
            h.addFilter(flt)
    return flt

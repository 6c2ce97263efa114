"""One exception tree for the whole library.

::

    ImgExtractError                  an expected failure, one line, never a credential
     ├── UsageError                  bad arguments: malformed reference, conflicting options, output in the way
     │    ├── InvalidReference       a malformed image reference (``error_class`` names the conformance class)
     │    ├── UnknownOption          a misspelt keyword option (also a TypeError)
     │    └── ConfigError            a configuration file (registries.conf, ICSP/IDMS/ITMS, auth) is unusable
     ├── SourceError                 this source could not serve the content: a pull tries the next source
     │    ├── AuthError              authentication or authorisation failed
     │    ├── NotFoundError          repository, tag, digest, platform or path not there
     │    ├── IntegrityError         digest/size/diff_id mismatch, unsafe or malformed content
     │    │    ├── ContentMismatch   the bytes received are not the ones the descriptor names
     │    │    └── LimitExceeded     a decompression, header-size or entry-count cap was hit
     │    │         └── DecompressionLimit  a layer inflates past the cap (also a ContentMismatch)
     │    ├── UnreachableError       network or TLS failure, or the source is blocked by policy
     │    └── RegistryError          an unexpected registry answer (5xx after retries, malformed response)
     ├── InvalidBundleError          labels and annotations.yaml disagree, required metadata missing
     ├── SignatureRefused            the signature policy refused the image
     └── LocalFilesystemError        the local filesystem failed us (disk full, permissions, read-only)

Library messages name library options (``insecure_registries``, ``force``), never command-line
flags, and carry no exit codes: the command line maps each class to its exit status and renders
options as flags, both in one place (``imgextract.cli.exits``).  A message marks an option with
:func:`option` and a remedy with :func:`remedy`; :meth:`ImgExtractError.render` turns the marks into
words (the library's by default, the CLI's when it passes its own renderer).

Messages are one line and never contain credentials: build them from references and endpoints,
never from request headers or URLs that may carry userinfo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the type only (ignored by the import contracts): errors stays the bottom layer
    from imgextract.signatures.verdict import Verdict

_MARK = "\x1e"
_MARK_RE = re.compile("\x1e([a-z_]+)\x1f([^\x1e]*)\x1e")

Words = Callable[[str, str], str]
"""Renders a mark: ``(kind, argument) -> text``; kind is ``option`` or a remedy name."""


def option(name: str, value: str | None = None) -> str:
    """Mark a setting (and a value) in a message: ``force``, ``format='configmap'``; the CLI shows
    ``--force``, ``--format configmap``."""
    return f"{_MARK}option\x1f{name}{'' if value is None else '=' + value}{_MARK}"


def remedy(kind: str, argument: str = "") -> str:
    """Mark a remedy phrase in a message (see :data:`LIBRARY_REMEDIES` for the kinds)."""
    return f"{_MARK}{kind}\x1f{argument}{_MARK}"


LIBRARY_REMEDIES: dict[str, str] = {
    "credentials": "; check the credentials (creds, authfile, pull_secret) and that they grant access "
    "to this repository",
    "plain_http": ": if so, add {arg} to insecure_registries",
    "tls_trust": "; trust its CA with ca_file or cert_dir, or skip verification by adding {arg} to "
    "insecure_registries",
    "platform": "; choose one with platform=",
    "explain_mirrors": "; explain_mirrors() shows the sources",
    "paths_or_all": "pass paths=[...] or all=True, or kind=... for a bundle built without labels",
    "resolve_digest": " (resolve it first, e.g. with inspect())",
    "configmap_target": " (a file path, or output=None to get the objects back)",
}


def library_words(kind: str, argument: str) -> str:
    """The library's wording of a mark: option names as keyword arguments, remedies in their terms."""
    if kind == "option":
        name, eq, value = argument.partition("=")
        return f"{name}={value!r}" if eq else name
    return LIBRARY_REMEDIES.get(kind, "").format(arg=argument)


SHOWN_LIMIT = 200


def printable(text: str) -> str:
    """``text`` with every character ``str.isprintable`` refuses escaped (``\\x1b``, ``\\u202e``): text
    chosen by others (a registry's message, a catalog's image reference) must not reach a terminal
    as control sequences (which retitle, recolour or rewrite it) or bidi overrides (which spoof it)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def shorten(text: str, limit: int = SHOWN_LIMIT) -> str:
    """``text`` cut in the middle when longer than ``limit`` (a 10 KB reference is not a message)."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 5
    return f"{text[:head]}...[{len(text) - head - tail} more characters]...{text[-tail:]}"


class ImgExtractError(Exception):
    """Base class: an expected failure with a one-line message, optionally the reference and endpoint."""

    def __init__(self, message: str, *, reference: str | None = None, endpoint: str | None = None) -> None:
        self.template = message.replace("\n", " ")
        self.reference = reference
        self.endpoint = endpoint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The message in the library's words, without the reference/endpoint context."""
        return self.render_message(library_words)

    def render_message(self, words: Words) -> str:
        """The message with its option and remedy marks rendered by ``words``."""
        return _MARK_RE.sub(lambda m: words(m.group(1), m.group(2)), self.template)

    def render(self, words: Words = library_words) -> str:
        """One line: the message, then ``(reference ..., endpoint ...)`` when known; characters that
        are not printable (control, bidi) escaped, see :func:`printable`."""
        parts = [self.render_message(words)]
        context = []
        if self.reference:
            context.append(f"reference {shorten(self.reference)}")
        if self.endpoint:
            context.append(f"endpoint {shorten(self.endpoint)}")
        if context:
            parts.append(f"({', '.join(context)})")
        line = printable(" ".join(parts).replace("\n", " "))  # reference and endpoint too: chosen by others
        return " ".join(shorten(word) for word in line.split(" "))

    def __str__(self) -> str:
        return self.render()


class UsageError(ImgExtractError):
    """Bad arguments: malformed reference, conflicting options, an output that is in the way."""


class InvalidReference(UsageError):
    """A malformed image reference; ``error_class`` names the conformance error class."""

    def __init__(
        self, message: str, *, error_class: str = "invalid_format", reference: str | None = None
    ) -> None:
        super().__init__(message, reference=reference)
        self.error_class = error_class


ReferenceError_ = InvalidReference  # the former name (it avoided shadowing the builtin ReferenceError)


class UnknownOption(UsageError, TypeError):
    """A keyword option no call takes (a TypeError too, as Python calls it): the message names the
    option meant when one is close."""


def unknown_option(names: list[str], known: set[str] | frozenset[str]) -> UnknownOption:
    """The error for misspelt keyword options, each with the closest known name when there is one."""
    from difflib import get_close_matches

    parts = []
    for name in names:
        close = get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return UnknownOption(f"unknown option{'s' if len(names) > 1 else ''} {', '.join(parts)}")


class ConfigError(UsageError):
    """A configuration file (registries.conf, ICSP/IDMS/ITMS, auth file) is invalid or unreadable."""


class SourceError(ImgExtractError):
    """This source could not serve the content; a pull moves on to the next source (mirror, primary)."""


class AuthError(SourceError):
    """Authentication or authorisation failed (401/403 after trying the credentials we have)."""


class NotFoundError(SourceError):
    """Repository, tag, digest, platform or path not present: every source answered 'not found'."""


class IntegrityError(SourceError):
    """Digest/size/diff_id mismatch, or an unsafe or malformed layer, manifest or blob."""


class ContentMismatch(IntegrityError):
    """The bytes received are not the ones the descriptor names (digest or size differ): this copy
    is bad, and another source's copy of the same digest may be good, so a pull tries the next one.
    Other integrity errors (unsafe or malformed content that matches its digest) are final."""


class LimitExceeded(IntegrityError):
    """A decompression, header-size or entry-count cap was hit (bomb protection)."""


class DecompressionLimit(LimitExceeded, ContentMismatch):
    """A layer inflates past the cap. Its digest is only known once the whole blob was read, so the
    bomb may be a bad copy: like a digest mismatch, the next source is tried."""


class UnreachableError(SourceError):
    """No source served the content and at least one failed at the network level or was blocked."""


class RegistryError(SourceError):
    """An unexpected registry answer (5xx after retries, malformed response)."""


class InvalidBundleError(ImgExtractError):
    """Labels and annotations.yaml disagree, required metadata missing, output too large."""


class SignatureRefused(ImgExtractError):
    """The signature policy refused the image (no accepted signature, or a rejecting requirement).

    ``verdict`` is the :class:`~imgextract.Verdict` that refused it (the scope, the requirement,
    each signature's check), as :meth:`imgextract.Client.verify` would have returned it."""

    def __init__(
        self,
        message: str,
        *,
        verdict: Verdict | None = None,
        reference: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message, reference=reference, endpoint=endpoint)
        self.verdict = verdict


class LocalFilesystemError(ImgExtractError):
    """A local filesystem operation failed (disk full, permission denied, read-only filesystem).

    ``path`` and ``errno`` name what failed; the message names both too."""

    def __init__(self, message: str, *, path: str | None = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


def local_filesystem_error(exc: OSError, *, doing: str = "writing") -> LocalFilesystemError:
    """A one-line error naming the path and the errno of a local ``OSError``."""
    import errno as _errno

    code = exc.errno or 0
    name = _errno.errorcode.get(code, str(code))
    path = exc.filename if isinstance(exc.filename, str) else None
    where = f" {path}" if path else ""
    space = "free some space, or choose another output or cache directory"
    hint = {
        _errno.ENOSPC: space,
        _errno.EDQUOT: space,
        _errno.EFBIG: "the file is over a size limit of this system or filesystem",
        _errno.EROFS: "the filesystem is read-only: choose another output or cache directory",
        _errno.EACCES: "check the permissions, or choose another output or cache directory",
        _errno.EPERM: "check the permissions, or choose another output or cache directory",
    }.get(code, "")
    reason = exc.strerror or exc.__class__.__name__
    text = f"local filesystem error {doing}{where}: {reason} ({name})" + (f"; {hint}" if hint else "")
    return LocalFilesystemError(text, path=path, errno=code)


__all__ = [
    "AuthError",
    "ConfigError",
    "ImgExtractError",
    "ContentMismatch",
    "DecompressionLimit",
    "IntegrityError",
    "InvalidBundleError",
    "InvalidReference",
    "LimitExceeded",
    "LocalFilesystemError",
    "NotFoundError",
    "RegistryError",
    "SignatureRefused",
    "SourceError",
    "UnknownOption",
    "UnreachableError",
    "UsageError",
    "local_filesystem_error",
    "option",
    "remedy",
]

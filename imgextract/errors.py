"""One exception hierarchy for the whole product.

Every class carries its process exit code; ``cli.py`` maps an exception to an exit code
in exactly one place (``ImgExtractError.exit_code``).  Messages are one line and never
contain credentials: build them from references and endpoints, never from request
headers or URLs that may carry userinfo.
"""

from __future__ import annotations

SHOWN_LIMIT = 200


def shorten(text: str, limit: int = SHOWN_LIMIT) -> str:
    """``text`` cut in the middle when longer than ``limit`` (a 10 KB reference is not a message)."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 5
    return f"{text[:head]}...[{len(text) - head - tail} more characters]...{text[-tail:]}"


class ImgExtractError(Exception):
    """Base class: an expected failure with a one-line message and an exit code."""

    exit_code: int = 1

    def __init__(self, message: str, *, reference: str | None = None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference
        self.endpoint = endpoint

    def __str__(self) -> str:
        parts = [self.message]
        context = []
        if self.reference:
            context.append(f"reference {shorten(self.reference)}")
        if self.endpoint:
            context.append(f"endpoint {shorten(self.endpoint)}")
        if context:
            parts.append(f"({', '.join(context)})")
        return " ".join(shorten(word) for word in " ".join(parts).replace("\n", " ").split(" "))


class UsageError(ImgExtractError):
    """Bad flags, malformed reference, unreadable or invalid configuration file."""

    exit_code = 2


class ReferenceError_(UsageError):
    """A malformed image reference (``class`` names the conformance error class)."""

    def __init__(
        self, message: str, *, error_class: str = "invalid_format", reference: str | None = None
    ) -> None:
        super().__init__(message, reference=reference)
        self.error_class = error_class


# Public, friendlier name; the trailing underscore avoids shadowing the builtin ReferenceError.
InvalidReference = ReferenceError_


class ConfigError(UsageError):
    """A configuration file (registries.conf, ICSP/IDMS/ITMS, auth file) is invalid or unreadable."""


class AuthError(ImgExtractError):
    """Authentication or authorisation failed (401/403 after trying the credentials we have)."""

    exit_code = 3


class NotFoundError(ImgExtractError):
    """Repository, tag, digest, platform or path not present: every source answered 'not found'."""

    exit_code = 4


class IntegrityError(ImgExtractError):
    """Digest/size/diff_id mismatch, or an unsafe or malformed layer, manifest or blob."""

    exit_code = 5


class LimitExceeded(IntegrityError):
    """A decompression, header-size or entry-count cap was hit (bomb protection)."""


class InvalidBundleError(ImgExtractError):
    """Labels and annotations.yaml disagree, required metadata missing, output too large."""

    exit_code = 6


class LocalFilesystemError(ImgExtractError):
    """Writing under OUT or the cache failed locally: disk full, read-only, permission denied."""

    exit_code = 9

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
    hint = {
        _errno.ENOSPC: "free some space or choose another output or --cache-dir",
        _errno.EDQUOT: "free some space or choose another output or --cache-dir",
        _errno.EROFS: "the filesystem is read-only: choose another output or --cache-dir",
        _errno.EACCES: "check the permissions, or choose another output or --cache-dir",
        _errno.EPERM: "check the permissions, or choose another output or --cache-dir",
    }.get(code, "")
    reason = exc.strerror or exc.__class__.__name__
    text = f"local filesystem error {doing}{where}: {reason} ({name})" + (f"; {hint}" if hint else "")
    return LocalFilesystemError(text.replace("\n", " "), path=path, errno=code)


class UnreachableError(ImgExtractError):
    """No source served the content and at least one failed at the network level or was blocked."""

    exit_code = 7


class RegistryError(ImgExtractError):
    """An unexpected registry answer (5xx after retries, malformed response)."""

    exit_code = 7

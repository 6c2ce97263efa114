"""Map HTTP answers and transport exceptions to the product's error hierarchy.

Messages are one line, name the reference and the endpoint (scheme, host and path only: query
strings may carry presigned signatures, and userinfo never appears), and pass the registry's own
error text through :func:`redact`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from imgextract.auth.redact import redact
from imgextract.errors import (
    AuthError,
    ImgExtractError,
    IntegrityError,
    NotFoundError,
    RegistryError,
    UnreachableError,
    option,
    printable,
    remedy,
)
from imgextract.oci import jsontext
from imgextract.registry.exceptions import (
    MalformedAnswer,
    ProxyRefused,
    TimedOut,
    TLSFailed,
    TransportError,
    label_of,
)
from imgextract.registry.response import Response

NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN"})
AUTH_CODES = frozenset({"UNAUTHORIZED", "DENIED"})
INTEGRITY_CODES = frozenset({"DIGEST_INVALID", "SIZE_INVALID", "MANIFEST_BLOB_UNKNOWN"})
_ERROR_BODY_LIMIT = 64 * 1024


def endpoint_of(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no userinfo, no query, no fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a bad port or IPv6 literal (a hostile Location or realm): shown as written
        scheme, sep, rest = url.split("?", 1)[0].split("#", 1)[0].partition("://")
        netloc, slash, path = rest.partition("/")
        return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _read_small(response: Response) -> bytes:
    data = bytearray()
    try:
        for chunk in response.iter_content(8192):
            data += chunk
            if len(data) >= _ERROR_BODY_LIMIT:
                break
    except (TransportError, RuntimeError):
        pass
    finally:
        response.close()
    return bytes(data[:_ERROR_BODY_LIMIT])


def registry_error_codes(body: bytes) -> list[tuple[str, str]]:
    """``[(code, message)]`` from a distribution error body; empty when the body is not one."""
    try:
        data = jsontext.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for item in errors:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            message = item.get("message")
            out.append((item["code"], message if isinstance(message, str) else ""))
    return out


def error_for_response(response: Response, *, what: str, reference: str | None) -> ImgExtractError:
    """The exception for a failed answer; ``what`` names the operation ("manifest", "blob upload", ...)."""
    status = response.status_code
    method = response.request.method
    endpoint = endpoint_of(response.url or response.request.url)
    codes = registry_error_codes(_read_small(response))
    code_names = {c for c, _ in codes}
    detail = "; ".join(f"{c}: {m}" if m else c for c, m in codes)
    # registry-chosen text: no terminal control sequences or bidi overrides on the user's stderr
    detail = printable(detail)
    suffix = f" ({redact(detail)})" if detail else ""
    line = f"{what}: {method} returned {status}{suffix}"
    if status in (401, 403) or code_names & AUTH_CODES:
        cls: type[ImgExtractError] = AuthError
        line = f"{what}: access denied, {method} returned {status}{suffix}{remedy('credentials')}"
    elif status == 404 or code_names & NOT_FOUND_CODES:
        cls = NotFoundError
        line = f"{what} not found: {method} returned {status}{suffix}"
    elif code_names & INTEGRITY_CODES:
        cls = IntegrityError
    elif status == 429 or code_names & {"TOOMANYREQUESTS"}:
        cls = RegistryError
        line = f"{what}: rate limited by the registry, {method} returned {status}{suffix}"
        wait = response.headers.get("Retry-After")
        if wait:
            shown = "".join(ch for ch in wait[:64] if ch.isprintable())
            line += f"; it asks to retry after {shown}" + (" s" if shown.isdigit() else "")
        line += f"; try again later, or use a mirror ({option('registries_conf')}, {option('idms_files')})"
    else:
        cls = RegistryError
    return cls(line.replace("\n", " "), reference=reference, endpoint=endpoint)


def error_for_exception(exc: BaseException, *, what: str, url: str, reference: str | None) -> ImgExtractError:
    """The exception for a network-level failure (DNS, refused, reset, timeout, TLS)."""
    endpoint = endpoint_of(url)
    host = urlsplit(url).netloc.rpartition("@")[2]
    text = str(exc)
    hint = ""
    if isinstance(exc, TLSFailed):
        reason = "TLS handshake or certificate verification failed"
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text or "HTTP_REQUEST" in text:
            reason = "TLS handshake failed"
            hint = "; the server seems to speak plain HTTP" + remedy("plain_http", host)
        elif "CERTIFICATE_VERIFY_FAILED" in text:
            reason = "TLS certificate verification failed"
            hint = remedy("tls_trust", host)
    elif isinstance(exc, ProxyRefused):
        if exc.status == 407:
            return AuthError(
                f"{what}: {text}; check the proxy credentials (HTTPS_PROXY, HTTP_PROXY)",
                reference=reference,
                endpoint=endpoint,
            )
        reason = text
    elif isinstance(exc, TimedOut):
        reason = "timed out"
    elif isinstance(exc, MalformedAnswer):
        reason = f"malformed HTTP answer: {text}"
    elif "Connection refused" in text:
        reason = "connection refused"
        hint = "; check the host and port"
    elif "NameResolutionError" in text or "Failed to resolve" in text or "Name or service not known" in text:
        reason = "host name could not be resolved"
        hint = "; check the registry name, DNS and proxy settings"
    else:
        reason = "connection failed"
    return UnreachableError(
        f"{what}: {reason} ({label_of(exc)}){hint}", reference=reference, endpoint=endpoint
    )

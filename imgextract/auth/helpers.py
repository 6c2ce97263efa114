"""Docker credential helpers: ``docker-credential-<name> get``.

Protocol: the server URL on stdin; on success a JSON object ``{"ServerURL", "Username",
"Secret"}`` on stdout.  ``Username == "<token>"`` means ``Secret`` is an identity token.
A helper that does not know the server exits non-zero and prints
``credentials not found in native keychain``: that is "no credentials", not an error.
Any other failure is an :class:`~imgextract.errors.AuthError` whose message names the
helper and the server, never the helper's output (it may hold a secret).

A helper that is not installed is skipped with a warning: a ``credsStore`` left in
``~/.docker/config.json`` by Docker Desktop must not break pulls of public images.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping

from imgextract.auth.credentials import Credentials, go_field
from imgextract.cpupin import call_free, process_cpus
from imgextract.errors import AuthError, ConfigError
from imgextract.oci import jsontext

log = logging.getLogger(__name__)

HELPER_PREFIX = "docker-credential-"
TOKEN_USERNAME = "<token>"
NOT_FOUND_MESSAGE = "credentials not found"
DEFAULT_TIMEOUT = 60.0


def helper_executable(name: str, env: Mapping[str, str]) -> str | None:
    """Absolute path of ``docker-credential-<name>`` on ``env['PATH']``, or None."""
    if not name or "/" in name or os.sep in name or name.startswith("."):
        raise ConfigError(f"invalid credential helper name {name!r}")
    return shutil.which(HELPER_PREFIX + name, path=env.get("PATH", os.defpath))


def run_helper(
    name: str, server_url: str, *, env: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT
) -> Credentials | None:
    """Ask helper ``name`` for the credentials of ``server_url``; None when it has none."""
    exe = helper_executable(name, env)
    program = HELPER_PREFIX + name
    if exe is None:
        log.warning("credential helper %s not found on PATH; ignoring it for %s", program, server_url)
        return None

    def ask() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [exe, "get"],
            input=server_url.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            env=dict(env),
            check=False,
        )

    try:  # asked by a worker kept on one CPU, maybe: the helper runs on the process's CPUs
        proc = call_free(process_cpus(), ask)
    except subprocess.TimeoutExpired:
        raise AuthError(
            f"credential helper {program} timed out after {timeout:g}s", endpoint=server_url
        ) from None
    except OSError as exc:
        raise AuthError(
            f"credential helper {program} could not be run ({exc.strerror or type(exc).__name__})",
            endpoint=server_url,
        ) from None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        if NOT_FOUND_MESSAGE in output.lower():
            log.debug("credential helper %s has no credentials for %s", program, server_url)
            return None
        raise AuthError(
            f"credential helper {program} failed (exit status {proc.returncode})", endpoint=server_url
        )
    try:  # json.NewDecoder(out).Decode: the first JSON value; what follows it is not read
        text = proc.stdout.decode("utf-8", "replace")  # Go reads invalid UTF-8 as U+FFFD
        payload, _ = jsontext.raw_decode(jsontext.decoder(), text, len(text) - len(text.lstrip(" \t\r\n")))
    except (UnicodeDecodeError, ValueError):
        raise AuthError(f"credential helper {program} returned invalid JSON", endpoint=server_url) from None
    if not isinstance(payload, dict):
        raise AuthError(f"credential helper {program} returned invalid JSON", endpoint=server_url)
    username = go_field(payload, "Username") or ""  # Go's encoding/json: any case, the last wins
    secret = go_field(payload, "Secret") or ""
    if not isinstance(username, str) or not isinstance(secret, str):
        raise AuthError(f"credential helper {program} returned invalid JSON", endpoint=server_url)
    if username == TOKEN_USERNAME:
        return Credentials(identity_token=secret) if secret else None
    if not username and not secret:
        return None
    return Credentials(username=username, password=secret)  # a user name alone is Basic "user:"

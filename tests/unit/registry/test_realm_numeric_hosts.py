"""A token realm on a local address is refused for a remote registry, however the address is spelled.

The resolver (glibc ``getaddrinfo``, through ``inet_aton``) reads the legacy IPv4 forms ``127.1``,
``2130706433``, ``0x7f.0.0.1`` and ``0177.0.0.1`` as 127.0.0.1, ``0`` as 0.0.0.0 (this host), and
``localhost.`` (a trailing root dot) is ``localhost``.  A hostile registry could name its realm
that way to have Basic credentials sent to a service on the user's machine: ``check_realm`` must
see through every spelling the connection itself would use.
"""

from __future__ import annotations

import pytest

from imgextract.errors import AuthError
from imgextract.registry.bearer import check_realm


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "127.1",
        "0177.0.0.1",
        "017700000001",
        "0",
        "0.0.0.0",
        "localhost.",
        "auth.localhost.",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::ffff:a9fe:a9fe]",
        "[::]",
        "10.1",
        "0xa9.0xfe.0xa9.0xfe",
    ],
)
def test_local_realm_spellings_refused_for_remote_registry(host: str) -> None:
    with pytest.raises(AuthError, match="refusing"):
        check_realm(f"https://{host}/token", "registry.example.com", insecure=False)


@pytest.mark.parametrize("host", ["auth.example.com", "8.8.8.8", "1.2.3.4", "example.123"])
def test_public_realms_still_accepted(host: str) -> None:
    check_realm(f"https://{host}/token", "registry.example.com", insecure=False)


def test_local_realm_for_a_local_registry_still_accepted() -> None:
    check_realm("https://127.1:9000/token", "127.0.0.1:5000", insecure=False)
    check_realm("https://localhost./token", "localhost:5000", insecure=False)


@pytest.mark.parametrize(
    "realm", ["https://1\x00/token", "https://127.0.0.1\x00.example/t", "https://a\x7f/t", "https://a\tb/t"]
)
def test_a_realm_with_a_control_character_is_refused(realm: str) -> None:
    """Go's ``url.Parse`` refuses a URL holding a control character ("invalid control character in
    URL"): such a realm is no URL, whatever the host checks would say (a NUL made the numeric
    address check itself fail with a bare ValueError)."""
    with pytest.raises(AuthError, match="not an http\\(s\\) URL"):
        check_realm(realm, "registry.example", insecure=False)

"""API paths become the URLs joining them to the registry's base URL gives (plain paths skip the join)."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from imgextract.registry.requester import Requester
from imgextract.settings import TransportSettings

PATHS = [
    "/v2/library/busybox/manifests/latest",
    "/v2/ns/repo/blobs/sha256:" + "a" * 64,
    "/v2/my.repo/manifests/v1.0.0-rc.1",
    "/v2/a/../b/blobs/sha256:" + "b" * 64,  # dot segments are resolved
    "/v2/a/./b/manifests/x",
    "/v2/.hidden/manifests/x",
    "//evil.example/v2/x",  # a network-path reference changes the host: never base + path
    "/v2/repo/tags/list?n=10&last=a",
    "/v2/repo/blobs/uploads/?digest=sha256:" + "c" * 64,
    "/v2/repo/manifests/x#frag",
    "relative/path",
    "/v2/caf%C3%A9/manifests/x",
]


@pytest.mark.parametrize("base", ["http://127.0.0.1:5000", "https://registry.example", "http://[::1]:5000"])
@pytest.mark.parametrize("path", PATHS)
def test_url_is_the_join_of_base_and_path(base: str, path: str) -> None:
    requester = Requester("registry.example", TransportSettings(), None)
    requester._base_url = base  # as the ping found it: scheme://host[:port]
    assert requester.url(path) == urljoin(base + "/", path)


def test_absolute_urls_are_kept() -> None:
    requester = Requester("registry.example", TransportSettings(), None)
    requester._base_url = "https://registry.example"
    assert requester.url("https://storage.example/x?sig=1") == "https://storage.example/x?sig=1"

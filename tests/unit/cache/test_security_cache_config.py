"""Security: an image config read from the content cache is verified like one from a registry.

Manifests from the cache are re-verified on read and layers by the applier; the config (diff_ids,
labels that pick the extracted paths) must not be trusted unverified from a cache that may be
shared or read-only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from imgextract import oci
from imgextract.cache import ContentCache
from imgextract.pull.resolve import _read_config

GOOD = b'{"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"a": "b"}}}'
BAD = b'{"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"a": "X"}}}'
DIGEST = "sha256:" + hashlib.sha256(GOOD).hexdigest()


class Client:
    def __init__(self) -> None:
        self.reads = 0

    def read_blob(self, repository: str, digest: str, *, limit: int) -> bytes:
        self.reads += 1
        assert digest == DIGEST
        return GOOD


def test_tampered_cached_config_is_not_used(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    path = cache.put_blob(DIGEST, GOOD)
    path.chmod(0o644)
    path.write_bytes(BAD)  # same size, different content
    client = Client()
    desc = oci.Descriptor(
        media_type="application/vnd.oci.image.config.v1+json", digest=DIGEST, size=len(GOOD)
    )
    data = _read_config(client, "repo", desc, cache)  # type: ignore[arg-type]
    assert data == GOOD
    assert client.reads == 1

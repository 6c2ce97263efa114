"""CPU per registry request: ``RegistryClient.get_manifest`` against a bare kept-alive ``http.client``
GET of the same manifest (the floor: what the standard library alone costs).

Both run in one fresh interpreter each, against the run's local registry, on one kept-alive
connection; the figure is the best of 7 batches of 200 requests (``time.process_time``: CPU, not
wall, so other load on the machine matters less).  The ratio says what the registry layer (auth,
retries, deadlines, the response type, digest and media-type checks) adds to a request.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

_LOOP = """
import time
def best(f):
    f()
    b = 9.0
    for _ in range(7):
        t = time.process_time()
        for _ in range(200):
            f()
        b = min(b, (time.process_time() - t) / 200)
    return b
"""

_PLAIN = """
import http.client
host, port = {host!r}.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
def get():
    conn.request("GET", "/v2/{repository}/manifests/{tag}", headers={{"Accept": "application/vnd.oci.image.manifest.v1+json"}})
    conn.getresponse().read()
print(best(get))
"""

_OURS = """
from imgextract.registry import RegistryClient, TransportSettings
client = RegistryClient({host!r}, TransportSettings(), None, insecure=True)
print(best(lambda: client.get_manifest({repository!r}, {tag!r})))
"""


def _cpu(code: str, repo: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _LOOP + code], cwd=repo, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def bench(ref: str, host: str, repo: Path) -> dict[str, Any]:
    repository, tag = ref.split("/", 1)[1].rsplit(":", 1)
    fill = {"host": host, "repository": repository, "tag": tag}
    plain = _cpu(_PLAIN.format(**fill), repo)
    ours = _cpu(_OURS.format(**fill), repo)
    print("\n== CPU per registry request (manifest GET, kept-alive connection, best of 7 x 200)")
    print(f"  {'http.client alone (floor)':<34} {plain * 1000:8.3f} ms")
    print(f"  {'RegistryClient.get_manifest':<34} {ours * 1000:8.3f} ms")
    print(f"  target {'(info) get_manifest / http.client':<52} {ours / plain:8.3f}")
    return {
        "title": "CPU per registry request",
        "targets": [],
        "cpu_per_request_ms": {"http.client": round(plain * 1000, 4), "get_manifest": round(ours * 1000, 4)},
    }

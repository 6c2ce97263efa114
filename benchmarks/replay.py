"""The registry alone: the requests a cold ``render`` of REF... makes, from plain clients that do nothing else.

    python benchmarks/replay.py [-j 16] HOST REF...

One ``GET /v2/`` first (the client's one ping for the host, before any other request); then each
of ``-j`` threads takes references in turn and, on one kept-alive ``http.client`` connection,
GETs the image manifest by tag, then the config and every layer not fetched before (as the
content cache spares a render the blobs images share), reading each body and throwing it away.
No parsing beyond the manifest's JSON, no files, no verification: the wall time is what the
registry on this machine needs to answer that request set, the floor under a cold render's wall
time on the same cores.  A benchmark tool, not part of bundle-extract.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import threading

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def replay(host: str, refs: list[str], jobs: int) -> int:
    """Send the request set; return how many requests were answered 200."""
    todo: queue.Queue[str] = queue.Queue()
    for ref in refs:
        todo.put(ref)
    seen: set[str] = set()
    lock = threading.Lock()
    answered = [0] * jobs
    failures: list[str] = []

    def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str], slot: int) -> bytes:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: {resp.status}")
        answered[slot] += 1
        return body

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(host)
        try:
            while True:
                try:
                    ref = todo.get_nowait()
                except queue.Empty:
                    return
                repository, tag = ref.split("/", 1)[1].rsplit(":", 1)
                manifest = json.loads(
                    get(conn, f"/v2/{repository}/manifests/{tag}", {"Accept": ACCEPT}, slot)
                )
                for digest in [manifest["config"]["digest"], *(la["digest"] for la in manifest["layers"])]:
                    with lock:
                        if digest in seen:
                            continue
                        seen.add(digest)
                    get(conn, f"/v2/{repository}/blobs/{digest}", {}, slot)
        except Exception as exc:  # reported below: the benchmark must not quote a failed replay
            failures.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            conn.close()

    ping = http.client.HTTPConnection(host)  # as the client: one ping before anything else
    try:
        get(ping, "/v2/", {}, 0)
    finally:
        ping.close()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"replay failed: {failures[0]}")
    return sum(answered)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-j", type=int, default=16)
    p.add_argument("host")
    p.add_argument("refs", nargs="+")
    args = p.parse_args()
    replay(args.host, args.refs, args.j)


if __name__ == "__main__":
    main()

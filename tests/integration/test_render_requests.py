"""What a cold ``render`` of many bundle images asks the registry, read from the real registry's
access log: per image its manifest (by tag), its config and each layer once, nothing twice, no
HEAD, no range, and one ``/v2/`` ping for the whole run (a layer that several images share is
fetched once: the content cache serves the others)."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from regfix.bundles import registry_v1_bundle

from tests.e2e.cli import run_cli

# docker-registry's access log (gorilla handlers' combined format)
_ACCESS = re.compile(r'^\S+ - - \[[^]]*\] "(\w+) (\S+) HTTP/1\.1" (\d+) \d+ "[^"]*" "bundle-extract/[^"]*"$')


def _requests(log: str) -> list[tuple[str, str, int]]:
    return [(m[1], m[2], int(m[3])) for m in map(_ACCESS.match, log.splitlines()) if m]


def test_cold_render_makes_one_request_per_manifest_config_and_layer(
    registry_factory: Callable[..., Any], push_image: Callable[..., Any], tmp_path: Path
) -> None:
    reg = registry_factory()
    images = [
        push_image(
            reg,
            registry_v1_bundle(package=f"req-op-{i}", large_crd_bytes=2_000, crd_salt=f"req-op-{i}"),
            f"req/bundle{i}",
            tag=f"v{i}",
        )
        for i in range(3)
    ]
    refs = [f"{reg.host}/req/bundle{i}:v{i}" for i in range(3)]
    before = len(_requests(reg.logs()))
    run = run_cli(
        "render", *refs, "-o", "json", "--insecure-registry", reg.host, "--cache-dir", str(tmp_path / "c"),
        home=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    asked = _requests(reg.logs())[before:]
    assert {(method, status) for method, _path, status in asked} == {("GET", 200)}, asked
    paths = Counter(path for _method, path, _status in asked)
    assert paths.pop("/v2/") == 1  # one ping for the host, not one per repository
    layers = [{la.digest for la in image.layout.image.layers} for image in images]
    shared = set.intersection(*layers)
    assert len(shared) == 1 and all(len(own) == 3 for own in layers)  # tests/: the same layer in each
    expected: Counter[str] = Counter()
    for i, image in enumerate(images):
        expected[f"/v2/req/bundle{i}/manifests/v{i}"] = 1
        expected[f"/v2/req/bundle{i}/blobs/{image.layout.image.config_digest}"] = 1
        expected.update(f"/v2/req/bundle{i}/blobs/{d}" for d in layers[i] - shared)
    # the shared layer once, from whichever repository asked for it first
    once = [p for p in paths if p.rsplit("/", 1)[1] in shared]
    assert len(once) == 1 and paths.pop(once[0]) == 1, once
    assert paths == expected  # nothing else, and nothing twice


# any client's line of the access log (replay.py's http.client sends no User-Agent)
_ANY = re.compile(r'^\S+ - - \[[^]]*\] "(\w+) (\S+) HTTP/1\.1" (\d+) ')


def _asked(log: str, start: int) -> Counter[tuple[str, str, int]]:
    """Requests from line ``start`` on; a blob by its digest alone (a layer several images share
    comes from whichever repository asked first)."""
    out: Counter[tuple[str, str, int]] = Counter()
    for m in map(_ANY.match, log.splitlines()[start:]):
        if m:
            path = m[2]
            out[(m[1], "blob " + path.rsplit("/", 1)[1] if "/blobs/" in path else path, int(m[3]))] += 1
    return out


def test_the_benchmarks_replay_asks_what_a_cold_render_asks(
    registry_factory: Callable[..., Any], push_image: Callable[..., Any], tmp_path: Path
) -> None:
    """benchmarks/replay.py (the registry alone answering a cold render's requests: the floor the
    render benchmark quotes) sends the cold render's request set, the ``/v2/`` ping included."""
    from benchmarks.replay import replay

    reg = registry_factory()
    for i in range(3):
        bundle = registry_v1_bundle(package=f"rep-op-{i}", large_crd_bytes=2_000, crd_salt=f"rep-op-{i}")
        push_image(reg, bundle, f"rep/bundle{i}", tag=f"v{i}")
    refs = [f"{reg.host}/rep/bundle{i}:v{i}" for i in range(3)]
    start = len(reg.logs().splitlines())
    run = run_cli(
        "render", *refs, "-o", "json", "--insecure-registry", reg.host, "--cache-dir", str(tmp_path / "c"),
        home=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    rendered = _asked(reg.logs(), start)
    start = len(reg.logs().splitlines())
    answered = replay(reg.host, refs, 2)
    assert answered == sum(rendered.values())
    deadline = time.monotonic() + 10  # the registry logs a request once it has sent the answer
    while sum((replayed := _asked(reg.logs(), start)).values()) < answered and time.monotonic() < deadline:
        time.sleep(0.05)
    assert replayed == rendered, (replayed, rendered)

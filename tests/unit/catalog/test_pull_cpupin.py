"""``pull_bundles`` keeps its workers on one CPU (:mod:`imgextract.cpupin`), and with them the
threads they start (a pull's prefetch and inflate threads); ``pin_cpu=False`` and ``jobs=1`` leave
every thread free, the caller's thread is never touched."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract.catalog import pull_bundles
from imgextract.catalog.model import Bundle
from imgextract.catalog.pull import BundleOutcome
from imgextract.errors import ImgExtractError

WAIT = 30
ALLOWED = os.sched_getaffinity(0)


def _affinity() -> set[int]:
    return os.sched_getaffinity(threading.get_native_id())


def _pull(tmp_path: Path, jobs: int, **kw: Any) -> list[tuple[set[int], set[int]]]:
    """Each bundle's (worker affinity, affinity of a thread the worker starts); every bundle then
    fails (no result to write a marker for)."""
    seen: list[tuple[set[int], set[int]]] = []
    lock = threading.Lock()
    together = threading.Barrier(jobs)

    def puller(bundle: Bundle, dest: Path, replace: bool) -> object:
        child: list[set[int]] = []
        t = threading.Thread(target=lambda: child.append(_affinity()))
        t.start()
        t.join(WAIT)
        with lock:
            seen.append((_affinity(), child[0]))
        together.wait(WAIT)  # every worker holds a bundle at once
        raise ImgExtractError("recorded")

    bundles = [
        Bundle("op", f"op.v{i}", f"registry.test/op/b:v{i}", f"{i}.0.0", ("stable",), ()) for i in range(jobs)
    ]
    result = pull_bundles(bundles, tmp_path / "out", puller=puller, jobs=jobs, **kw)  # type: ignore[arg-type]
    assert result.failed == jobs
    return seen


def test_the_workers_and_their_threads_share_one_cpu(tmp_path: Path) -> None:
    before = _affinity()
    seen = _pull(tmp_path, 3)
    assert len(seen) == 3
    cpus = {frozenset(s) for pair in seen for s in pair}
    if len(ALLOWED) > 1:
        assert len(cpus) == 1 and len(next(iter(cpus))) == 1 and next(iter(cpus)) <= ALLOWED
    else:
        assert cpus == {frozenset(ALLOWED)}
    assert _affinity() == before


def test_no_pin_cpu_leaves_them_free(tmp_path: Path) -> None:
    assert _pull(tmp_path, 3, pin_cpu=False) == [(ALLOWED, ALLOWED)] * 3


def test_one_job_is_not_pinned(tmp_path: Path) -> None:
    assert _pull(tmp_path, 1) == [(ALLOWED, ALLOWED)]


def test_callbacks_run_on_the_callers_cpus(tmp_path: Path) -> None:
    # on_start / on_done are the caller's code: a thread (or process) they start outlives the call,
    # e.g. the first task given to the caller's own executor starts its thread, kept for good
    mine = ThreadPoolExecutor(max_workers=1)
    seen: list[set[int]] = []
    lock = threading.Lock()

    def on_start(bundle: Bundle) -> None:
        with lock:
            seen.append(_affinity())

    def on_done(outcome: BundleOutcome) -> None:
        with lock:
            seen.append(_affinity())
        mine.submit(lambda: None)

    try:
        pulled = _pull(tmp_path, 3, on_start=on_start, on_done=on_done)
        assert all(len(worker) == 1 for worker, _ in pulled) or len(ALLOWED) == 1  # (kept meanwhile)
        assert seen == [ALLOWED] * 6
        assert mine.submit(_affinity).result(WAIT) == ALLOWED  # its thread, started by on_done
    finally:
        mine.shutdown()


CATALOG = (
    "---\nschema: olm.package\nname: etcd\ndefaultChannel: stable\n"
    "---\nschema: olm.channel\npackage: etcd\nname: stable\nentries:\n- name: etcd.v1.0.0\n"
    "- name: etcd.v1.1.0\n  replaces: etcd.v1.0.0\n"
) + "".join(
    f"---\nschema: olm.bundle\npackage: etcd\nname: etcd.v{v}\nimage: 127.0.0.1:1/etcd@sha256:{d * 64}\n"
    f"properties:\n- type: olm.package\n  value: {{packageName: etcd, version: {v}}}\n"
    for v, d in (("1.0.0", "0"), ("1.1.0", "1"))
)


@pytest.mark.parametrize("one_shot", [False, True])
@pytest.mark.parametrize("pin", [True, False])
def test_the_library_passes_pin_cpu_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, one_shot: bool, pin: bool
) -> None:
    (tmp_path / "catalog" / "etcd").mkdir(parents=True)
    (tmp_path / "catalog" / "etcd" / "catalog.yaml").write_text(CATALOG)  # two unreachable bundles
    catalog, out, env = tmp_path / "catalog", tmp_path / "out", {"HOME": str(tmp_path)}
    with caplog.at_level(logging.DEBUG, logger="imgextract.catalog.pull"):
        if one_shot:
            result = imgextract.pull_catalog(catalog, out, jobs=2, pin_cpu=pin, retries=0, env=env)
        else:
            with imgextract.Client(retries=0, env=env) as client:
                result = client.pull_catalog(catalog, out, jobs=2, pin_cpu=pin)
    assert result.failed == 2
    kept = [r for r in caplog.records if r.getMessage().startswith("catalog pull workers kept on CPU")]
    assert len(kept) == (1 if pin and len(ALLOWED) > 1 else 0)


def test_one_bundle_is_not_pinned_whatever_jobs(tmp_path: Path) -> None:
    # one bundle in flight at most: a single pull, which uses both CPUs for its fetch and inflate
    # threads (single-image pulls are not kept on one CPU either)
    seen: list[set[int]] = []

    def puller(bundle: Bundle, dest: Path, replace: bool) -> object:
        seen.append(_affinity())
        raise ImgExtractError("recorded")

    bundle = Bundle("op", "op.v1", "registry.test/op/b:v1", "1.0.0", ("stable",), ())
    result = pull_bundles([bundle], tmp_path / "out", puller=puller, jobs=4)  # type: ignore[arg-type]
    assert result.failed == 1
    assert seen == [ALLOWED]

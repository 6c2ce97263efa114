"""Pulling every bundle of a catalog: 50 bundle images in a real registry.

Trees are compared byte for byte with the files the bundle images were built from; a deleted bundle
image fails on its own line while the others land; a run killed with SIGKILL is completed by a rerun
that fetches none of the bundles finished before the kill (counted in the registry's access log);
three shard processes split the selection into disjoint parts that cover it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from regfix.catalogs import BundleImages, GeneratedCatalog, bundle_catalog, push_bundle_images
from regfix.registry import Registry

from imgextract import Client
from imgextract.catalog import Catalog, pull_bundles
from imgextract.errors import NotFoundError

REPO = Path(__file__).resolve().parents[2]


class World:
    def __init__(self, registry: Registry, root: Path) -> None:
        self.registry = registry
        self.root = root
        self.gen: GeneratedCatalog
        self.built: BundleImages
        self.gen, self.built = bundle_catalog(
            registry.host, root / "layouts", packages=10, per_package=5, prefix="catpull"
        )
        push_bundle_images(registry, self.built)
        self.catalog_dir = self.gen.write(root / "catalog")
        # one bundle image disappears from the registry
        self.deleted = self.gen.packages["pkg-0003-operator"].bundles[
            sorted(self.gen.packages["pkg-0003-operator"].bundles)[2]
        ]
        key = (self.deleted.package, self.deleted.version)
        digest = self.built.layouts[key].digest
        r = requests.delete(f"{registry.url}/v2/{self.built.repository[key]}/manifests/{digest}", timeout=10)
        assert r.status_code == 202, r.text

    def client(self, cache: Path) -> Client:
        return Client(insecure_registries=[self.registry.host], retries=1, cache_dir=cache, env={})

    def expected(self, package: str, name: str) -> dict[str, bytes]:
        b = self.gen.packages[package].bundles[name]
        files = self.built.files[(package, b.version)]
        return {k: v for k, v in files.items() if k.startswith(("manifests/", "metadata/"))}

    def run(
        self, out: Path, cache: Path, shard: str = "", jobs: int = 2, *extra: str
    ) -> subprocess.Popen[str]:
        """``bundle-extract pull --from-catalog`` in its own process, one JSON line per bundle."""
        argv = [
            sys.executable, "-m", "imgextract", "pull", "--from-catalog", str(self.catalog_dir), "-o", str(out),
            "--insecure-registry", self.registry.host, "--cache-dir", str(cache), "--jobs", str(jobs), "--json",
        ]  # fmt: skip
        if shard:
            argv += ["--shard", shard]
        argv += extra
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "XDG_"))
        }
        env.update(PYTHONPATH=str(REPO), HOME=str(cache.parent))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def world(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(registry, tmp_path_factory.mktemp("catalog-pull"))


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_every_bundle_lands_byte_identical_and_the_deleted_one_is_reported(
    world: World, tmp_path: Path
) -> None:
    cat = Catalog.from_directory(world.catalog_dir)
    assert len(cat.bundles()) == 50
    lines: list[dict[str, object]] = []
    result = pull_bundles(
        cat.bundles(),
        tmp_path / "out",
        client=world.client(tmp_path / "cache"),
        jobs=4,
        on_done=lambda o: lines.append(o.to_json()),
    )
    assert result.failed == 1 and result.pulled == 49
    [bad] = [line for line in lines if "error" in line]
    assert bad["reference"] == world.deleted.image
    assert bad["error"]["type"] == "NotFoundError" and "not found" in bad["error"]["message"].lower()  # type: ignore[index]
    with pytest.raises(NotFoundError):
        result.raise_for_failures()
    assert not (tmp_path / "out" / world.deleted.package / world.deleted.name).exists()
    for b in cat.bundles():
        if b.name == world.deleted.name:
            continue
        assert _tree(tmp_path / "out" / b.package / b.name) == world.expected(b.package, b.name), b.name
    assert len([line for line in lines if "error" not in line and line["digest"]]) == 49
    # a second run skips everything that is complete, and still reports the missing one
    again = pull_bundles(cat.bundles(), tmp_path / "out", client=world.client(tmp_path / "cache"), jobs=4)
    assert (again.skipped, again.pulled, again.failed) == (49, 0, 1)


def _settled_log(world: World, start: int) -> list[str]:
    """The registry's access-log lines from line ``start`` on, once the log stops growing."""
    lines: list[str] = []
    for _ in range(20):
        now = world.registry.logs().splitlines()[start:]
        if now and len(now) == len(lines):
            return now
        lines = now
        time.sleep(0.1)
    return lines


def test_each_bundle_costs_its_manifest_config_and_layers_and_no_thread(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    cat = Catalog.from_directory(world.catalog_dir)
    bundles = [b for b in cat.bundles() if b.name != world.deleted.name][:12]
    started: list[str] = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    start = len(world.registry.logs().splitlines())
    monkeypatch.setattr(threading.Thread, "start", counting_start)
    result = pull_bundles(bundles, tmp_path / "out", client=world.client(tmp_path / "cache"), jobs=3)
    monkeypatch.undo()
    assert (result.pulled, result.failed) == (12, 0)
    lines = [line for line in _settled_log(world, start) if '"GET /v2/' in line]
    blobs: dict[str, int] = {}
    for b in bundles:
        image = world.built.layouts[(b.package, b.version)].image
        assert sum(f"/manifests/{image.digest} " in line for line in lines) == 1
        for digest in (image.config_digest, *(la.digest for la in image.layers)):
            blobs[digest] = sum(f"/blobs/{digest} " in line for line in lines)
    # every config and layer exactly once, even a layer that several of the 3 bundles in flight
    # share: one thread fetches it, the others wait and read it from the cache
    assert any(
        sum(
            la.digest == d for b in bundles for la in world.built.layouts[(b.package, b.version)].image.layers
        )
        > 1
        for d in blobs
    ), "the catalog's bundles are expected to share layers"
    assert all(n == 1 for n in blobs.values()), blobs
    assert sum(1 for line in lines if "/blobs/" in line) == sum(blobs.values())
    # the pool's workers (and the deadline watchdog); nothing per bundle, layer or request
    assert len([n for n in started if n != "imgextract-deadlines"]) <= 3, started


def _manifest_fetches(log: str, digests: set[str]) -> int:
    return sum(1 for line in log.splitlines() if "/manifests/" in line and any(d in line for d in digests))


def test_sigkill_then_rerun_refetches_nothing_that_was_finished(world: World, tmp_path: Path) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = world.run(out, cache, jobs=1)  # one bundle at a time: the kill lands mid-run
    finished: set[Path] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = set(out.glob("*/.*.done"))
        if len(finished) >= 8 or proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    finished = set(out.glob("*/.*.done"))
    assert 8 <= len(finished) < 49, "the run must be killed mid-way"
    done_digests = {json.loads(p.read_text())["digest"] for p in finished}
    log_offset = len(world.registry.logs())
    rerun = world.run(out, cache)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 4, stderr
    assert "1 failed" in stderr and f"first failure: {world.deleted.package}/{world.deleted.name}" in stderr
    lines = [json.loads(line) for line in stdout.splitlines()]
    [bad] = [line for line in lines if "error" in line]
    assert bad["error"]["exitCode"] == 4 and bad["reference"] == world.deleted.image
    skipped = {(line["package"], line["bundle"]) for line in lines if line.get("skipped")}
    assert len(skipped) >= len(finished)
    assert sum(1 for line in lines if "error" in line) == 1
    assert len(set(out.glob("*/.*.done"))) == 49
    assert not list(out.glob("*/.*.staging-*")), "a killed run's staging directories are cleaned"
    assert _manifest_fetches(world.registry.logs()[log_offset:], done_digests) == 0


def test_three_shards_are_disjoint_and_cover_the_selection(world: World, tmp_path: Path) -> None:
    procs = [world.run(tmp_path / f"out{i}", tmp_path / f"cache{i}", f"{i}/3") for i in range(3)]
    parts: list[set[tuple[str, str]]] = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, 4), stderr
        parts.append({(line["package"], line["bundle"]) for line in map(json.loads, stdout.splitlines())})
    assert all(parts)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    everything = {(b.package, b.name) for b in world.gen.bundles()}
    assert parts[0] | parts[1] | parts[2] == everything


def test_shards_of_a_named_package_split_its_heads(world: World, tmp_path: Path) -> None:
    """--package alone selects the heads of its channels (catalogs-render.md); two shard processes
    given the same flags split exactly that set, and the library's default selects it too."""
    names = ["pkg-0001-operator", "pkg-0002-operator"]
    heads = {(p, ch.head) for p in names for ch in world.gen.packages[p].channels.values()}
    assert heads != {(p, b) for p in names for b in world.gen.packages[p].bundles}
    flags = [a for p in names for a in ("--package", p)]
    procs = [world.run(tmp_path / f"out{i}", tmp_path / f"cache{i}", f"{i}/2", 2, *flags) for i in range(2)]
    parts: list[set[tuple[str, str]]] = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        parts.append({(line["package"], line["bundle"]) for line in map(json.loads, stdout.splitlines())})
    assert not parts[0] & parts[1] and parts[0] | parts[1] == heads
    with world.client(tmp_path / "cache") as client:
        result = client.pull_catalog(world.catalog_dir, tmp_path / "lib", packages=names)
    assert {(o.bundle.package, o.bundle.name) for o in result.outcomes} == heads and result.failed == 0


def test_pull_catalog_from_a_catalog_image_with_filters(world: World, tmp_path: Path) -> None:
    from regfix.oci import write_layout
    from regfix.push import push

    layout = write_layout(tmp_path / "layout", world.gen.image_spec(), "v1")
    pushed = push(layout, world.registry, "catpull/catalog", "v1")
    pkg = world.gen.packages["pkg-0001-operator"]
    with world.client(tmp_path / "cache") as client:
        result = client.pull_catalog(pushed.ref, tmp_path / "out", packages=[pkg.name], heads_only=True)
    heads = {ch.head for ch in pkg.channels.values()}
    assert {o.bundle.name for o in result.outcomes} == heads and result.failed == 0
    assert sorted(
        p.name for p in (tmp_path / "out" / pkg.name).iterdir() if not p.name.startswith(".")
    ) == sorted(heads)


def test_sigterm_stops_starting_bundles(world: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = world.run(out, tmp_path / "cache", jobs=1)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*/.*.done"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    done = len(list(out.glob("*/.*.done")))
    assert 3 <= done <= 6, f"{done} bundles finished after SIGTERM"


def test_policy_refuses_every_bundle_before_any_layer(world: World, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "default": [{"type": "insecureAcceptAnything"}],
                "transports": {"docker": {f"{world.registry.host}/catpull": [{"type": "reject"}]}},
            }
        )
    )
    out = tmp_path / "out"
    proc = world.run(
        out,
        tmp_path / "cache",
        "",
        4,
        "--policy",
        str(policy),
        "--package",
        "pkg-0001-operator",
        "--all-bundles",
    )
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 8, stderr
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert len(lines) == 5 and all(line["error"]["exitCode"] == 8 for line in lines)
    assert not [p for p in out.rglob("*") if p.is_file()], "a refused bundle leaves nothing"


@pytest.mark.parametrize("flag", [None, "--no-pin-cpu"])
def test_the_bundle_workers_are_kept_on_one_cpu_unless_told(
    world: World, tmp_path: Path, flag: str | None
) -> None:
    # imgextract.cpupin (the affinity itself: tests/unit/catalog/test_pull_cpupin.py)
    extra = ["--package", "pkg-0001-operator", "-vv", *([flag] if flag else [])]
    proc = world.run(tmp_path / "out", tmp_path / "cache", "", 2, *extra)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    assert stdout.strip()  # bundles were pulled
    kept = [line for line in stderr.splitlines() if "catalog pull workers kept on CPU" in line]
    several = len(os.sched_getaffinity(0)) > 1
    assert len(kept) == (1 if flag is None and several else 0), stderr[-2000:]

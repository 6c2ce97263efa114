"""Never leave debris, through the CLI against the real registry: a SIGKILLed pull's staging
directory is removed by the next pull and by ``cache prune``; disk full and file-size limits are
exit 9 naming the path and the errno, with nothing half-written kept; concurrent pulls of one
image into one cache download each blob once."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix import bundles
from regfix.pytest_plugin import PushedImage

from imgextract.procowner import host_mark, owner_token
from tests.e2e.cli import REPO, run_cli

pytestmark = pytest.mark.registry

SMALL = bundles.registry_v1_bundle(large_crd=False)


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "CONTAINERS_", "XDG_", "IMGPKG_"))
    }
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(REPO))
    return env


def _popen(home: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "imgextract", *args],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        **kw,
    )


@pytest.fixture(scope="module")
def layered(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    """One uncompressed 3 MiB layer."""
    from regfix.oci import File, ImageSpec, Layer, write_layout
    from regfix.push import push

    spec = ImageSpec(layers=[Layer([File("data/big.bin", os.urandom(3 << 20))], compression="none")])
    layout = write_layout(tmp_path_factory.mktemp("debris-layout"), spec, "v1")
    return PushedImage(push(layout, registry, "debris/big", "v1"), layout, None, registry)


def _staging(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".staging-" in p.name]


def test_sigkilled_pull_staging_is_removed_by_the_next_pull(
    layered: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    fp = fault_proxy(layered.registry)
    fp.plan.stall_blobs = {layered.layout.image.layers[0].digest}
    ref = f"{fp.host}/debris/big:v1"
    proc = _popen(home, "pull", ref, "-o", str(work / "out"), "--all", "--insecure-registry", fp.host)
    deadline = time.monotonic() + 30
    while not _staging(work) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _staging(work), proc.communicate()[1]
    proc.kill()
    proc.communicate(timeout=30)
    assert _staging(work)  # SIGKILL: nothing could clean up
    fp.plan.stall_blobs = False
    r = run_cli("pull", ref, "-o", str(work / "other"), "--all", "--insecure-registry", fp.host, home=home)
    assert r.code == 0, r.stderr
    assert _staging(work) == []
    assert sorted(p.name for p in work.iterdir()) == ["other"]


def test_cache_prune_removes_temp_files_of_dead_processes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "tmp").mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    (cache / "tmp" / f"{'a' * 16}.{host_mark()}.{pid}.12345.{'b' * 12}.tmp").write_bytes(b"x" * 1000)
    (cache / "tmp" / f"{'c' * 16}.{owner_token()}.{'d' * 12}.tmp").write_bytes(b"y")  # alive: kept
    other = "0123456789ab" if host_mark() != "0123456789ab" else "ba9876543210"
    (cache / "tmp" / f"{'e' * 16}.{other}.{pid}.12345.{'f' * 12}.tmp").write_bytes(b"z")  # another host's
    home = tmp_path / "home"
    home.mkdir()
    r = run_cli("cache", "prune", "--max-age", "30d", "--cache-dir", str(cache), home=home)
    assert r.code == 0, r.stderr
    assert sorted(p.name[:1] for p in (cache / "tmp").iterdir()) == ["c", "e"]


def test_disk_full_in_the_cache_is_exit_9_and_keeps_no_partial(layered: PushedImage, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cache = tmp_path / "cache"
    layer = layered.layout.image.layers[0]
    alg, hexd = layer.digest.split(":")
    (cache / "blobs" / alg).mkdir(parents=True)
    partial = cache / "blobs" / alg / f"{hexd}.partial"
    partial.symlink_to("/dev/full")  # every write there fails with ENOSPC, as on a full disk
    r = run_cli(
        "pull",
        layered.ref,
        "-o",
        str(tmp_path / "out"),
        "--all",
        "--cache-dir",
        str(cache),
        "--insecure-registry",
        layered.registry.host,
        home=home,
    )
    assert r.code == 9, r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and "ENOSPC" in line and str(partial) in line, line
    assert "internal error" not in line
    assert not os.path.lexists(partial)
    assert not (tmp_path / "out").exists()
    assert [p for p in tmp_path.iterdir() if ".staging-" in p.name] == []


def test_file_size_limit_under_out_is_exit_9_and_leaves_nothing(layered: PushedImage, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()

    def limit() -> None:  # writes past 1 MiB fail with EFBIG (SIGXFSZ ignored), like a full quota
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    proc = _popen(
        home,
        "pull",
        layered.ref,
        "-o",
        str(tmp_path / "out"),
        "--all",
        "--no-cache",
        "--insecure-registry",
        layered.registry.host,
        preexec_fn=limit,
    )
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 9, err
    # Whichever file crosses the limit first is named: the layer's file under OUT, or the download's
    # spool file beside OUT (the download may run ahead of the applier); both are under tmp_path.
    named = (str(tmp_path / "out" / "data" / "big.bin"), str(tmp_path / "bundle-extract-layer-"))
    assert "EFBIG" in err and any(p in err for p in named) and "internal error" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_concurrent_pulls_into_one_cache_download_each_blob_once(
    layered: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    fp = fault_proxy(layered.registry)
    fp.plan.blob_rate = 2 << 20  # 3 MiB at 2 MiB/s: the pulls overlap
    ref = f"{fp.host}/debris/big:v1"
    procs = [
        _popen(
            home,
            "pull",
            ref,
            "-o",
            str(tmp_path / f"out{i}"),
            "--all",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--insecure-registry",
            fp.host,
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    layer = layered.layout.image.layers[0]
    gets = [r for r in fp.requests if r.method == "GET" and r.path.endswith(layer.digest)]
    assert len(gets) == 1, [(r.status, r.headers.get("Range")) for r in gets]
    for i in range(4):
        assert (tmp_path / f"out{i}" / "data" / "big.bin").stat().st_size == 3 << 20


@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "aborted")]
)
def test_signal_while_a_download_is_stalled_exits_within_2_seconds(
    layered: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path, sig: int, code: int, word: str
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    fp = fault_proxy(layered.registry)
    fp.plan.stall_blobs = {layered.layout.image.layers[0].digest}
    ref = f"{fp.host}/debris/big:v1"
    proc = _popen(home, "pull", ref, "-o", str(work / "out"), "--all", "--insecure-registry", fp.host)
    deadline = time.monotonic() + 30
    while not any(r.fault == "stall" for r in fp.requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the worker is blocked in its socket read now
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - sent
    assert elapsed < 2.0, (elapsed, err)
    assert proc.returncode in (code, -sig), err
    assert err.strip().splitlines()[-1] == f"bundle-extract: {word}"
    assert list(work.iterdir()) == []


def test_cache_prune_max_age_counts_partials_by_age(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    blobs = cache / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    old, new = blobs / f"{'a' * 64}.partial", blobs / f"{'b' * 64}.partial"
    old.write_bytes(b"x" * 10)
    new.write_bytes(b"y" * 10)
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    home = tmp_path / "home"
    home.mkdir()
    r = run_cli("cache", "prune", "--max-age", "1d", "--cache-dir", str(cache), home=home)
    assert r.code == 0, r.stderr
    assert not old.exists() and new.exists()


def test_stalled_download_gives_up_within_the_retry_time_flags(
    layered: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    fp = fault_proxy(layered.registry)
    fp.plan.stall_blobs = {layered.layout.image.layers[0].digest}
    start = time.monotonic()
    r = run_cli(
        "pull",
        f"{fp.host}/debris/big:v1",
        "-o",
        str(tmp_path / "out"),
        "--all",
        "--insecure-registry",
        fp.host,
        "--timeout",
        "0.5",
        "--retry-time",
        "1",
        home=tmp_path,
    )
    assert time.monotonic() - start < 20
    assert r.code == 7, r.stderr
    assert "nothing received for" in r.stderr and "WARNING" in r.stderr and "resuming" in r.stderr
    assert not (tmp_path / "out").exists()

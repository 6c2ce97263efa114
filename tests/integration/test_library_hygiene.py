"""A library user's process stays as it was: what a pipeline embedding ``imgextract`` relies on.

Against a real docker-registry: a library warning (an imgpkg bundle whose images.yml cannot be
rewritten) reaches the application's logging when it configured some, and is never written to
stderr when it did not (Python's last-resort handler); a refusing signature policy raises a
``SignatureRefused`` that carries its typed ``Verdict``; results of the same image compare and hash
equal, so a pipeline can keep them in sets and dict keys; a closed client leaves no thread behind.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from regfix import bundles
from regfix.oci import File, ImageSpec, Layer
from regfix.pytest_plugin import PushedImage
from regfix.registry import Registry

import imgextract
from imgextract.progress import NoProgress

pytestmark = pytest.mark.registry

IMGPKG_LABELS = {"dev.carvel.imgpkg.bundle": "true"}


def _imgpkg_bundle_naming_a_missing_image(host: str) -> ImageSpec:
    images = (
        "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n"
        f"- image: {host}/hygiene/gone@sha256:{'0' * 64}\n"
    )
    files = [File(".imgpkg/images.yml", images), File(".imgpkg/bundle.yml", "---\nname: h\n")]
    return ImageSpec(
        layers=[Layer([*files, File("config/app.yml", "kind: ConfigMap\n")])], labels=IMGPKG_LABELS
    )


_SCRIPT = """
import json, logging, sys
import imgextract
if sys.argv[4] == "configured":
    logging.basicConfig(level=logging.WARNING, format="LOGGED %(levelname)s %(message)s")
result = imgextract.pull(sys.argv[1], sys.argv[2], insecure_registries=[sys.argv[3]], use_cache=False)
print(json.dumps(result.imgpkg))
"""


@pytest.mark.parametrize("logging_setup", ["none", "configured"])
def test_library_warnings_go_to_logging_never_straight_to_stderr(
    registry: Registry,
    push_image: Callable[..., PushedImage],
    tmp_path: Path,
    logging_setup: str,
) -> None:
    """The pull succeeds and reports the unrewritten images.yml in its result; the same fact is a
    WARNING record of the ``imgextract`` loggers. Without any logging configuration, Python's
    last-resort handler would print it on stderr: the package's NullHandler keeps stderr empty."""
    img = push_image(registry, _imgpkg_bundle_naming_a_missing_image(registry.host), "hygiene/imgpkg")
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, img.ref, str(tmp_path / "out"), registry.host, logging_setup],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rewritten"] is False and "images.yml not rewritten" in report["message"]
    if logging_setup == "none":
        assert done.stderr == ""
    else:
        assert done.stderr.startswith("LOGGED WARNING images.yml not rewritten"), done.stderr


def test_signature_refused_carries_the_verdict(pushed_bundle: PushedImage, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "reject"}]}))
    with pytest.raises(imgextract.SignatureRefused) as caught:
        imgextract.pull(
            pushed_bundle.ref,
            tmp_path / "out",
            insecure_registries=[pushed_bundle.registry.host],
            policy=str(policy),
            use_cache=False,
        )
    verdict = caught.value.verdict
    assert isinstance(verdict, imgextract.Verdict)
    assert not verdict.accepted and verdict.requirement == "reject"
    assert verdict.digest == pushed_bundle.digest
    assert str(caught.value) == verdict.message()
    assert not (tmp_path / "out").exists()


def test_results_of_one_image_compare_and_hash_equal(pushed_bundle: PushedImage) -> None:
    host = pushed_bundle.registry.host
    with imgextract.Client(insecure_registries=[host], use_cache=False) as client:
        first, second = client.inspect(pushed_bundle.ref), client.inspect(pushed_bundle.ref)
        cms = [client.pull(pushed_bundle.ref, None, format="configmap") for _ in range(2)]
        mirrors, client_mirrors = (client.explain_mirrors(pushed_bundle.ref) for _ in range(2))
    assert first == second and hash(first) == hash(second)
    assert len({first, second}) == 1
    assert first.labels and dict(first.labels) == json.loads(json.dumps(first.to_json()["labels"]))
    assert cms[0] == cms[1] and hash(cms[0]) == hash(cms[1]) and cms[0].configmaps
    assert {mirrors, client_mirrors} == {mirrors}
    assert {first: "seen"}[second] == "seen"


def test_a_closed_client_leaves_no_thread(pushed_bundle: PushedImage, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with imgextract.Client(insecure_registries=[pushed_bundle.registry.host], use_cache=False) as client:
        for i in range(3):
            client.pull(pushed_bundle.ref, tmp_path / f"out{i}")
    deadline = time.monotonic() + 2.0
    while (left := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == set()


class _OtherCallMidPull(NoProgress):
    """A progress callback that makes another call on the same client once, while the pull's
    layers are being fetched: what a second thread sharing the client does at any moment."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.call: Callable[[], object] | None = call

    def layer_started(self, digest: str, size: int | None) -> None:
        if self.call is not None:
            call, self.call = self.call, None
            call()


def test_a_call_for_another_registry_does_not_take_creds_from_a_running_pull(
    htpasswd_registry: Registry,
    registry: Registry,
    push_image: Callable[..., PushedImage],
    pushed_bundle: PushedImage,
    tmp_path: Path,
) -> None:
    """``creds`` goes only to the registries of the references the user named; on a shared client
    another call (another thread's) named another registry while a private pull was running, and
    the pull's next blob request went out without credentials: 401, AuthError."""
    user, password = next(iter(htpasswd_registry.users.items()))
    private = push_image(
        htpasswd_registry, bundles.registry_v1_bundle(), "hygiene/private", creds=(user, password)
    )
    with imgextract.Client(
        insecure_registries=[htpasswd_registry.host, registry.host],
        creds=f"{user}:{password}",
        use_cache=False,
        env={"HOME": str(tmp_path)},
    ) as client:
        other = _OtherCallMidPull(lambda: client.inspect(pushed_bundle.ref))
        result = client.pull(private.ref, tmp_path / "private", progress=other)
        assert other.call is None  # the other call was made, mid-pull
        assert result.digest == private.digest and result.files > 0
        # and the other way round: the public pull goes on while a private inspect runs
        other = _OtherCallMidPull(lambda: client.inspect(private.ref))
        assert client.pull(pushed_bundle.ref, tmp_path / "public", progress=other).files > 0


def test_a_catalog_read_without_cache_is_removed_with_its_last_catalog(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    """``use_cache=False``: a catalog image's configs go to a temporary directory. It was kept
    until the process exited (an ``atexit`` entry per open), so a long-running pipeline grew one
    directory per catalog it ever read; it now goes when the last Catalog reading it (filtered
    ones included) is garbage-collected."""
    img = pushed_fixtures["fbc"]
    with imgextract.Client(
        insecure_registries=[img.registry.host], use_cache=False, env={"HOME": str(tmp_path)}
    ) as client:
        catalog = client.open_catalog(img.ref)
    assert catalog.root is not None and catalog.root.is_dir()
    root = catalog.root
    filtered = catalog.filter(packages=["widget-operator"])
    del catalog
    gc.collect()
    assert root.is_dir() and [o["schema"] for o in filtered.objects()]  # still read from disk
    del filtered
    gc.collect()
    assert not root.exists() and not root.parent.exists()


def _process_state() -> tuple[object, ...]:
    umask = os.umask(0o022)
    os.umask(umask)
    root = logging.getLogger()
    return (
        {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGHUP)},
        os.getcwd(),
        dict(os.environ),
        umask,
        list(root.handlers),
        root.level,
        [type(h).__name__ for h in logging.getLogger("imgextract").handlers],
        logging.getLogger("imgextract").level,
        sys.getrecursionlimit(),
        socket.getdefaulttimeout(),
    )


def test_calls_leave_the_process_as_they_found_it(
    pushed_bundle: PushedImage, pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    """No signal handler, working directory, environment variable, umask, logging configuration,
    recursion limit or socket default changes across pulls, renders, catalog pulls and verifies."""
    before = _process_state()
    assert before[6] == ["NullHandler"]
    host = pushed_bundle.registry.host
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    with imgextract.Client(
        insecure_registries=[host], cache_dir=tmp_path / "cache", env={"HOME": str(tmp_path)}
    ) as c:
        c.pull(pushed_bundle.ref, tmp_path / "out")
        c.pull(pushed_bundle.ref, None, format="configmap")
        c.render(pushed_bundle.ref, migrate_level="all")
        catalog = c.open_catalog(pushed_fixtures["fbc"].ref)
        assert catalog.packages()
        assert c.verify(pushed_bundle.ref, policy=str(policy)).accepted
    assert _process_state() == before

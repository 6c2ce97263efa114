"""Mirrors through the CLI: mirror policies and registries.conf against real registries.

The "source" registries that must not be contacted are a tiny counting TCP listener written for
these tests (a hand-written fake: it only counts connections and closes them, a fault a real
registry cannot stage).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from regfix import bundles
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry


class CountingListener:
    """Accepts TCP connections on a loopback port, counts them, and closes them at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture
def source() -> Iterator[CountingListener]:
    listener = CountingListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def mirrored(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    """The bundle on the mirror registry at mirror-ns/bundle:v1 (the 'source' is elsewhere)."""
    from regfix.oci import write_layout
    from regfix.push import push

    fx = bundles.registry_v1_bundle(large_crd=False)
    layout = write_layout(tmp_path_factory.mktemp("mirror-layout"), fx.spec, "v1")
    return PushedImage(push(layout, registry, "mirror-ns/bundle", "v1"), layout, fx, registry)


def _policy(path: Path, kind: str, source: str, mirrors: list[str], **extra: str) -> Path:
    api = "operator.openshift.io/v1alpha1" if kind == "ImageContentSourcePolicy" else "config.openshift.io/v1"
    field = {
        "ImageContentSourcePolicy": "repositoryDigestMirrors",
        "ImageDigestMirrorSet": "imageDigestMirrors",
        "ImageTagMirrorSet": "imageTagMirrors",
    }[kind]
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": api,
                "kind": kind,
                "metadata": {"name": "p"},
                "spec": {field: [{"source": source, "mirrors": mirrors, **extra}]},
            }
        )
    )
    return path


def _isolated(tmp_path: Path) -> list[str]:
    conf = tmp_path / "empty-registries.conf"
    conf.write_text("")
    (tmp_path / "conf.d").mkdir(exist_ok=True)
    return ["--registries-conf", str(conf), "--registries-conf-dir", str(tmp_path / "conf.d")]


def test_digest_pull_via_icsp_source_unreachable(
    cli: Callable[..., Run], mirrored: PushedImage, source: CountingListener, tmp_path: Path
) -> None:
    mirror = mirrored.registry.host
    icsp = _policy(
        tmp_path / "icsp.yaml", "ImageContentSourcePolicy", f"{source.host}/ns", [f"{mirror}/mirror-ns"]
    )
    ref = f"{source.host}/ns/bundle@{mirrored.digest}"
    r = cli(
        "pull",
        ref,
        "-o",
        str(tmp_path / "out"),
        "--icsp-file",
        str(icsp),
        "--insecure-registry",
        mirror,
        "--insecure-registry",
        source.host,
        "--json",
        *_isolated(tmp_path),
    )
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["source"] == f"{mirror}/mirror-ns/bundle"
    assert doc["resolved"]["registry"] == source.host and doc["resolved"]["digest"] == mirrored.digest
    assert source.connections == 0  # the first mirror served it
    assert (tmp_path / "out" / "metadata" / "annotations.yaml").exists()


def test_tag_pull_icsp_not_redirected_itms_redirected(
    cli: Callable[..., Run], mirrored: PushedImage, source: CountingListener, tmp_path: Path
) -> None:
    mirror = mirrored.registry.host
    icsp = _policy(
        tmp_path / "icsp.yaml", "ImageContentSourcePolicy", f"{source.host}/ns", [f"{mirror}/mirror-ns"]
    )
    itms = _policy(tmp_path / "itms.yaml", "ImageTagMirrorSet", f"{source.host}/ns", [f"{mirror}/mirror-ns"])
    ref = f"{source.host}/ns/bundle:v1"
    common = ["--insecure-registry", mirror, "--insecure-registry", source.host, *_isolated(tmp_path)]
    r = cli("pull", ref, "-o", str(tmp_path / "a"), "--icsp-file", str(icsp), *common)
    assert r.code == 7, r.stderr
    assert source.connections > 0 and not (tmp_path / "a").exists()
    r = cli("pull", ref, "-o", str(tmp_path / "b"), "--itms-file", str(itms), "--json", *common)
    assert r.code == 0, r.stderr
    assert r.json()["source"] == f"{mirror}/mirror-ns/bundle"
    assert r.json()["resolved"]["digest"] == mirrored.digest  # tag through a mirror still reports the digest


def test_idms_never_contact_source(
    cli: Callable[..., Run], mirrored: PushedImage, source: CountingListener, tmp_path: Path
) -> None:
    mirror = mirrored.registry.host
    idms = _policy(
        tmp_path / "idms.yaml",
        "ImageDigestMirrorSet",
        f"{source.host}/ns",
        [f"{mirror}/empty-ns"],
        mirrorSourcePolicy="NeverContactSource",
    )
    ref = f"{source.host}/ns/bundle@{mirrored.digest}"
    r = cli(
        "pull",
        ref,
        "-o",
        str(tmp_path / "out"),
        "--idms-file",
        str(idms),
        "--insecure-registry",
        mirror,
        "--insecure-registry",
        source.host,
        *_isolated(tmp_path),
    )
    assert r.code in (4, 7), r.stderr
    assert f"{mirror}/empty-ns/bundle" in r.stderr and "blocked" in r.stderr
    assert source.connections == 0
    assert not (tmp_path / "out").exists()


def test_registries_conf_first_mirror_down_second_serves(
    cli: Callable[..., Run], mirrored: PushedImage, source: CountingListener, tmp_path: Path
) -> None:
    mirror = mirrored.registry.host
    down = CountingListener()
    try:
        conf = tmp_path / "registries.conf"
        conf.write_text(f"""
[[registry]]
location = "{source.host}/ns"
insecure = true

[[registry.mirror]]
location = "{down.host}/mirror-ns"
insecure = true

[[registry.mirror]]
location = "{mirror}/mirror-ns"
insecure = true
""")
        (tmp_path / "d").mkdir()
        r = cli(
            "pull",
            f"{source.host}/ns/bundle:v1",
            "-o",
            str(tmp_path / "out"),
            "--registries-conf",
            str(conf),
            "--registries-conf-dir",
            str(tmp_path / "d"),
            "--json",
        )
        assert r.code == 0, r.stderr
        assert r.json()["source"] == f"{mirror}/mirror-ns/bundle"
        assert down.connections > 0 and source.connections == 0
    finally:
        down.close()


def test_blocked_source_without_mirror_exit_7(
    cli: Callable[..., Run], source: CountingListener, tmp_path: Path
) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{source.host}"\nblocked = true\n')
    (tmp_path / "d").mkdir()
    r = cli(
        "pull",
        f"{source.host}/ns/bundle:v1",
        "-o",
        str(tmp_path / "out"),
        "--registries-conf",
        str(conf),
        "--registries-conf-dir",
        str(tmp_path / "d"),
        "--insecure-registry",
        source.host,
    )
    assert r.code == 7, r.stderr
    assert "blocked" in r.stderr
    assert source.connections == 0


def test_pull_through_cache_as_mirror(
    cli: Callable[..., Run],
    mirrored: PushedImage,
    proxy_registry: Callable[..., Any],
    source: CountingListener,
    tmp_path: Path,
) -> None:
    cache = proxy_registry(mirrored.registry)
    idms = _policy(
        tmp_path / "idms.yaml", "ImageDigestMirrorSet", f"{source.host}/ns", [f"{cache.host}/mirror-ns"]
    )
    ref = f"{source.host}/ns/bundle@{mirrored.digest}"
    r = cli(
        "pull",
        ref,
        "-o",
        str(tmp_path / "out"),
        "--idms-file",
        str(idms),
        "--insecure-registry",
        cache.host,
        "--insecure-registry",
        source.host,
        "--json",
        *_isolated(tmp_path),
    )
    assert r.code == 0, r.stderr
    assert r.json()["source"] == f"{cache.host}/mirror-ns/bundle"
    assert source.connections == 0


def test_mirrors_command_explains_without_network(
    cli: Callable[..., Run], source: CountingListener, tmp_path: Path
) -> None:
    idms = _policy(
        tmp_path / "idms.yaml",
        "ImageDigestMirrorSet",
        f"{source.host}/ns",
        ["m1.example.test/ns", "m2.example.test/ns"],
    )
    ref = f"{source.host}/ns/bundle@sha256:{'a' * 64}"
    r = cli("mirrors", ref, "--idms-file", str(idms), "--json", *_isolated(tmp_path))
    assert r.code == 0, r.stderr
    doc = r.json()
    assert [s["reference"] for s in doc["sources"]] == [
        f"m1.example.test/ns/bundle@sha256:{'a' * 64}",
        f"m2.example.test/ns/bundle@sha256:{'a' * 64}",
        ref,
    ]
    assert "idms.yaml" in doc["sources"][0]["rule"] and doc["sources"][-1]["rule"].startswith("primary")
    assert source.connections == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: x}\n"
        "spec: {imageDigestMirrors: [{source: 'HTTP://bad', mirrors: [m.test]}]}\n"
    )
    r = cli("mirrors", ref, "--idms-file", str(bad), *_isolated(tmp_path))
    assert r.code == 2 and "bad.yaml" in r.stderr

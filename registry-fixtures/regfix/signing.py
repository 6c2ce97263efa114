"""Signed images for tests: GPG signatures made by skopeo itself, cosign signatures made here.

- ``make_gpg_keys(dir)``: two ed25519 keys (``trusted``, ``other``) in a fresh GNUPGHOME, made by
  ``gpg --batch``; public keys exported to ``trusted.asc`` / ``other.asc``.
- ``skopeo_copy_signed(...)``: push an OCI layout with ``skopeo copy --sign-by FPR``; skopeo writes the
  signature into the lookaside directory of a registries.d it is given.
- ``skopeo_standalone_sign(...)``: a signature for any manifest/identity (``skopeo standalone-sign``),
  for signatures of another digest or another identity; ``put_lookaside`` stores it.
- ``cosign_payload`` / ``push_cosign_signatures``: the documented cosign layout (Debian's skopeo
  cannot make sigstore signatures): an OCI manifest tagged ``sha256-<hex>.sig`` whose layers are
  simple-signing payloads (``application/vnd.dev.cosign.simplesigning.v1+json``) with the base64
  signature in the ``dev.cosignproject.cosign/signature`` annotation.
- ``skopeo_accepts(...)``: the oracle: ``skopeo copy --policy`` of an image to a ``dir:``.
- ``StaticServer`` serves a directory over HTTP (a lookaside server); ``FaultServer`` is a
  hand-written fake for what no real server does on purpose: stall, or send an endless body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from regfix.oci import OCI_MANIFEST, Layout
from regfix.push import PushError, skopeo_binary

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_ANNOTATION = "dev.cosignproject.cosign/signature"
EMPTY_CONFIG = b"{}"


@dataclass(frozen=True)
class GPGKeys:
    home: Path  # GNUPGHOME with both secret keys
    trusted: str  # fingerprint
    other: str
    trusted_pub: Path
    other_pub: Path


_AGENT_HOMES: set[Path] = set()  # GNUPGHOMEs gpg ran in: each may have started a gpg-agent


def stop_gpg_agents() -> None:
    """Stop the gpg-agent of every GNUPGHOME used through this module (best effort): gpg starts
    one per home and leaves it running after the test session."""
    for home in sorted(_AGENT_HOMES):
        try:
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            pass
    _AGENT_HOMES.clear()


def _gpg(home: Path, *args: str, data: str | None = None) -> str:
    _AGENT_HOMES.add(home)
    proc = subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gpg {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_gpg_keys(directory: Path) -> GPGKeys:
    home = directory / "gnupg"
    home.mkdir(mode=0o700, parents=True)
    fprs = []
    for name in ("trusted", "other"):
        _gpg(
            home,
            "--passphrase",
            "",
            "--quick-gen-key",
            f"{name} <{name}@regfix.test>",
            "ed25519",
            "sign",
            "0",
        )
        listing = _gpg(home, "--with-colons", "--list-keys", f"{name}@regfix.test")
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        (directory / f"{name}.asc").write_text(_gpg(home, "--armor", "--export", fpr))
        fprs.append(fpr)
    return GPGKeys(home, fprs[0], fprs[1], directory / "trusted.asc", directory / "other.asc")


def _skopeo_env(tmp: Path, gnupghome: Path | None, registries_conf: Path | None = None) -> dict[str, str]:
    (tmp / "auth.json").write_text('{"auths":{}}')
    conf = registries_conf or tmp / "registries.conf"
    if registries_conf is None:
        conf.write_text("")
    env = dict(os.environ, REGISTRY_AUTH_FILE=str(tmp / "auth.json"), CONTAINERS_REGISTRIES_CONF=str(conf))
    if gnupghome is not None:
        env["GNUPGHOME"] = str(gnupghome)
    return env


def _skopeo() -> str:
    found = skopeo_binary()
    if found is None:
        raise PushError("skopeo not found (apt install skopeo)")
    return found


def write_registries_d(directory: Path, lookaside: str, *, sigstore_attachments: bool = False) -> Path:
    """A registries.d with one ``default-docker`` lookaside (read and write)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = f"default-docker:\n  lookaside: {lookaside}\n"
    if sigstore_attachments:
        text += "  use-sigstore-attachments: true\n"
    (directory / "default.yaml").write_text(text)
    return directory


def skopeo_copy_signed(
    layout: Layout, host: str, repository: str, tag: str, keys: GPGKeys, fpr: str, registries_d: Path
) -> str:
    """``skopeo copy --sign-by`` an OCI layout to ``host/repository:tag`` (plain HTTP); returns the digest."""
    with tempfile.TemporaryDirectory(prefix="regfix-sign-") as t:
        tmp = Path(t)
        args = [
            _skopeo(),
            "--insecure-policy",
            "--registries.d",
            str(registries_d),
            "copy",
            "--retry-times",
            "0",
            "--dest-tls-verify=false",
            *(["--all"] if layout.index is not None else []),
            "--sign-by",
            fpr,
            "--digestfile",
            str(tmp / "digest"),
            layout.oci_ref,
            f"docker://{host}/{repository}:{tag}",
        ]
        proc = subprocess.run(
            args, capture_output=True, text=True, env=_skopeo_env(tmp, keys.home), timeout=120
        )
        if proc.returncode != 0:
            raise PushError(f"skopeo copy --sign-by failed: {proc.stderr}")
        return (tmp / "digest").read_text().strip()


def skopeo_standalone_sign(manifest: bytes, identity: str, keys: GPGKeys, fpr: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="regfix-sign-") as t:
        tmp = Path(t)
        (tmp / "manifest.json").write_bytes(manifest)
        args = [
            _skopeo(),
            "standalone-sign",
            str(tmp / "manifest.json"),
            identity,
            fpr,
            "--output",
            str(tmp / "sig"),
        ]
        proc = subprocess.run(
            args, capture_output=True, text=True, env=_skopeo_env(tmp, keys.home), timeout=60
        )
        if proc.returncode != 0:
            raise PushError(f"skopeo standalone-sign failed: {proc.stderr}")
        return (tmp / "sig").read_bytes()


def put_lookaside(root: Path, repository: str, digest: str, signatures: list[bytes]) -> None:
    """Store signatures as ``root/<repository>@sha256=<hex>/signature-N`` (replacing any there)."""
    algorithm, _, encoded = digest.partition(":")
    d = root / f"{repository}@{algorithm}={encoded}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for i, sig in enumerate(signatures, 1):
        (d / f"signature-{i}").write_bytes(sig)


def cosign_payload(digest: str, identity: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": identity},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()


def _put_blob(session: requests.Session, base: str, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = session.post(f"{base}/v2/{repository}/blobs/uploads/")
    if r.status_code != 202:
        raise PushError(f"upload start {r.status_code}: {r.text}")
    loc = r.headers["Location"]
    loc = base + loc if loc.startswith("/") else loc
    r = session.put(f"{loc}{'&' if '?' in loc else '?'}digest={digest}", data=data)
    if r.status_code != 201:
        raise PushError(f"blob upload {r.status_code}: {r.text}")
    return digest


def push_cosign_signatures(
    base_url: str,
    repository: str,
    digest: str,
    signatures: list[tuple[bytes, str]],
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> str:
    """Push ``(payload, base64 signature)`` pairs as the cosign attachment of ``digest``, then
    ``(media type, data)`` attachments of other kinds (attestations ...); returns its tag."""
    s = requests.Session()
    config = _put_blob(s, base_url, repository, EMPTY_CONFIG)
    layers: list[dict[str, object]] = []
    for payload, sig in signatures:
        layers.append(
            {
                "mediaType": SIMPLESIGNING,
                "digest": _put_blob(s, base_url, repository, payload),
                "size": len(payload),
                "annotations": {COSIGN_ANNOTATION: sig},
            }
        )
    for media_type, data in attachments:
        layers.append(
            {"mediaType": media_type, "digest": _put_blob(s, base_url, repository, data), "size": len(data)}
        )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": layers,
    }
    tag = digest.replace(":", "-") + ".sig"
    r = s.put(
        f"{base_url}/v2/{repository}/manifests/{tag}",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": OCI_MANIFEST},
    )
    if r.status_code != 201:
        raise PushError(f"manifest put {r.status_code}: {r.text}")
    return tag


def skopeo_accepts(
    reference: str, policy: Path, registries_d: Path, registries_conf: Path | None = None
) -> tuple[bool, str]:
    """The oracle: does ``skopeo copy --policy`` accept ``docker://reference``?  (copied to a dir:)"""
    with tempfile.TemporaryDirectory(prefix="regfix-verify-") as t:
        tmp = Path(t)
        env = _skopeo_env(tmp, None, registries_conf)
        args = [
            _skopeo(),
            "--registries-conf",  # skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF
            env["CONTAINERS_REGISTRIES_CONF"],
            "--policy",
            str(policy),
            "--registries.d",
            str(registries_d),
            "copy",
            "--retry-times",
            "0",
            "--src-tls-verify=false",
            f"docker://{reference}",
            f"dir:{tmp / 'out'}",
        ]
        proc = subprocess.run(
            args, capture_output=True, text=True, env=_skopeo_env(tmp, None, registries_conf), timeout=120
        )
        return proc.returncode == 0, proc.stderr.strip()


# ------------------------------------------------------------------------------------------- servers


class StaticServer:
    """Serve ``directory`` read-only over HTTP on 127.0.0.1 (a lookaside server); counts requests."""

    def __init__(self, directory: Path) -> None:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                server.requests.append(self.path)

        self.requests: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FaultServer:
    """Hand-written fake (no real server does this on purpose): ``mode`` "stall" sends a 200 header then
    nothing; "endless" streams an unbounded body; "headers" never answers at all; "drip" sends its
    header one byte every half second, forever (each read well within any read timeout)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.mode == "headers":
                self._stop.wait(120)
                return
            if self.mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while not self._stop.wait(0.5):
                    conn.sendall(b"a")
                    self.sent += 1
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n\xa3\x01")
            if self.mode == "stall":
                self._stop.wait(120)
                return
            chunk = b"\x00" * 65536
            while not self._stop.is_set():
                conn.sendall(chunk)
                self.sent += len(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        time.sleep(0)


def cosign_b64(signature: bytes) -> str:
    return base64.b64encode(signature).decode()

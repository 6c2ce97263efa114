"""Stored signature blobs and the file:// lookaside reader (HTTP faults are in the integration tests)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from imgextract.errors import IntegrityError, LimitExceeded, UnreachableError
from imgextract.signatures.fetch import LookasideReader, attachment_tag, classify, read_lookaside

D = "sha256:" + "c" * 64


def test_classify_formats() -> None:
    assert classify(b"\xa3\x01rest", "s").format == "gpg" and classify(b"\xa3\x01rest", "s").error is None
    assert classify(b"\x00simple-signing\n\xa3\x01", "s").blob == b"\xa3\x01"
    doc = {
        "mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "payload": base64.b64encode(b"P").decode(),
        "annotations": {"a": "b"},
    }
    sig = classify(b"\x00sigstore-json\n" + json.dumps(doc).encode(), "s")
    assert (sig.format, sig.blob, sig.media_type, dict(sig.annotations), sig.error) == (
        "sigstore",
        b"P",
        doc["mimeType"],
        {"a": "b"},
        None,
    )
    assert classify(b"\x00sigstore-json\n{", "s").error == "malformed sigstore-json signature"
    assert "unrecognized signature format" in (classify(b"\x00other\nx", "s").error or "")
    assert "starting with 0x7b" in (classify(b"{}", "s").error or "")
    assert classify(b"", "s").error == "empty signature blob"
    assert attachment_tag(D) == "sha256-" + "c" * 64 + ".sig"


def _store(root: Path, n: int, size: int = 3) -> str:
    d = root / f"ns/app@sha256={'c' * 64}"
    d.mkdir(parents=True)
    for i in range(1, n + 1):
        (d / f"signature-{i}").write_bytes(b"\xa3" + bytes([i]) * (size - 1))
    return f"file://{root}/ns/app"


def test_reads_signature_1_to_n_until_missing(tmp_path: Path) -> None:
    base = _store(tmp_path, 3)
    sigs = read_lookaside(LookasideReader(), base, D)
    assert [s.source.rsplit("/", 1)[1] for s in sigs] == ["signature-1", "signature-2", "signature-3"]
    assert [s.blob[1:2] for s in sigs] == [b"\x01", b"\x02", b"\x03"] and all(s.format == "gpg" for s in sigs)
    assert LookasideReader().read(f"file://{tmp_path}/absent", D) == []


def test_bounds(tmp_path: Path) -> None:
    base = _store(tmp_path / "many", 5)
    with pytest.raises(IntegrityError, match="5 signatures"):
        LookasideReader(max_signatures=5).read(base, D)
    assert len(LookasideReader(max_signatures=6).read(base, D)) == 5
    big = _store(tmp_path / "big", 1, size=100)
    with pytest.raises(LimitExceeded, match="larger than 50 bytes"):
        LookasideReader(max_bytes=50).read(big, D)
    with pytest.raises(UnreachableError, match="unsupported scheme"):
        LookasideReader().read("ftp://example.com/sigs/ns/app", D)


def test_a_store_with_128_signatures_is_a_server_error(tmp_path: Path) -> None:
    """containers/image ``appendSignaturesFromLookaside`` gives up when the index reaches
    ``maxLookasideSignatures`` (128) before asking for ``signature-129``: a store holding exactly
    128 signatures fails reading them ("server provided 128 signatures"); 127 are read."""
    base = _store(tmp_path / "full", 128)
    with pytest.raises(IntegrityError, match="128 signatures"):
        LookasideReader().read(base, D)
    (tmp_path / f"full/ns/app@sha256={'c' * 64}/signature-128").unlink()
    assert len(LookasideReader().read(base, D)) == 127


@pytest.mark.parametrize(
    "location", ["http://[::1/sig", "http://127.0.0.1:99999/sig", "http://" + "\u00e9" * 70 + ".example/sig"]
)
def test_a_lookaside_redirect_to_an_invalid_url_is_a_one_line_error(location: str) -> None:
    """A hand-written loopback server redirects to a URL no client can reach (a fault a real
    static web server is not configured to produce)."""
    import socket

    from tests.unit.registry.loopback import http_server

    def redirect(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode("latin-1")
        )

    with http_server(redirect) as (server, _):
        with pytest.raises(UnreachableError) as caught:
            LookasideReader(timeout=5.0).get(f"http://{server}/ns/app@sha256=00/signature-1")
    assert "signature" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("hops", "found"), [(10, True), (11, False)])
def test_a_lookaside_follows_redirects_as_go_does(hops: int, found: bool) -> None:
    """containers/image reads an http lookaside with Go's ``http.Client``, which follows up to 10
    redirects ("stopped after 10 redirects" on the 11th).  A hand-written loopback server makes the
    chain (a static web server is not configured to produce one)."""
    import re
    import socket

    from tests.unit.registry.loopback import http_server

    def chain(conn: socket.socket, head: bytes) -> None:
        match = re.search(rb"/hop-(\d+)", head.split(b"\r\n", 1)[0])
        n = int(match.group(1)) if match else 0
        if n < hops:
            conn.sendall(
                f"HTTP/1.1 302 Found\r\nLocation: /hop-{n + 1}\r\nContent-Length: 0\r\n\r\n".encode()
            )
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\xa3ab")

    with http_server(chain) as (server, _):
        reader = LookasideReader(timeout=5.0)
        if found:
            assert reader.get(f"http://{server}/ns/app@sha256=00/signature-1") == b"\xa3ab"
        else:
            with pytest.raises(UnreachableError, match="redirects"):
                reader.get(f"http://{server}/ns/app@sha256=00/signature-1")


def test_sigstore_json_read_as_go_unmarshals_it() -> None:
    """``sigstoreJSONRepresentation`` (containers/image ``internal/signature``) is read by
    ``encoding/json``: fields in any case, ``payload`` base64 with line breaks skipped, absent
    fields empty; an annotation that is not a string does not unmarshal (the blob is unreadable)."""
    import base64
    import json

    payload = b'{"critical": {}}'
    b64 = base64.b64encode(payload).decode()
    blob = json.dumps(
        {"MimeType": "application/x", "Payload": b64[:8] + "\n" + b64[8:], "Annotations": {"k": "v"}}
    )
    sig = classify(b"\x00sigstore-json\n" + blob.encode(), "s")
    assert (sig.error, sig.blob, sig.media_type, dict(sig.annotations)) == (
        None,
        payload,
        "application/x",
        {"k": "v"},
    )
    bare = classify(b'\x00sigstore-json\n{"mimeType": "m"}', "s")
    assert (bare.error, bare.blob, dict(bare.annotations)) == (None, b"", {})
    bad = classify(b'\x00sigstore-json\n{"payload": "", "annotations": {"k": 1}}', "s")
    assert bad.error is not None

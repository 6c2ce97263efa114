"""Blob reads: redirects, Range resume, retries; uploads and mounts — against the in-process fake."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from imgextract.auth.credentials import Credentials
from imgextract.errors import IntegrityError, NotFoundError, RegistryError
from imgextract.registry.exceptions import ConnectFailed
from imgextract.registry.response import Request
from tests.unit.registry.fakehttp import Reply, StaticCreds, fake_client

DATA = bytes(range(256)) * 64  # 16 KiB
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
BASIC = StaticCreds({None: Credentials(username="u", password="pw-1234")})
BASIC_HEADER = "Basic dTpwdy0xMjM0"


def _range_reply(req: Request, data: bytes) -> Reply:
    rng = req.headers.get("Range")
    if rng:
        start = int(rng.removeprefix("bytes=").rstrip("-"))
        return Reply(206, data[start:], {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
    return Reply(200, data)


def _basic_registry(inner):
    def handler(req: Request) -> Reply:
        host = urlsplit(req.url or "").hostname
        if host == "reg.example" and req.headers.get("Authorization") != BASIC_HEADER:
            return Reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        if (req.url or "").endswith("/v2/"):
            return Reply(200)
        return inner(req)

    return handler


def test_blob_streams_and_matches() -> None:
    client, _ = fake_client(_basic_registry(lambda req: _range_reply(req, DATA)), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST, size=len(DATA)) as stream:
        assert stream.read() == DATA


def test_cross_host_redirect_drops_authorization() -> None:
    seen: dict[str, str | None] = {}

    def inner(req: Request) -> Reply:
        host = urlsplit(req.url or "").hostname
        seen[str(host)] = req.headers.get("Authorization")
        if host == "reg.example":
            return Reply(307, headers={"Location": "https://storage.example/blob?X-Amz-Signature=sig"})
        return Reply(200, DATA)

    client, _ = fake_client(_basic_registry(inner), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST) as stream:
        assert stream.read() == DATA
    assert seen["reg.example"] == BASIC_HEADER
    assert seen["storage.example"] is None


def test_same_host_redirect_keeps_authorization() -> None:
    seen: list[str | None] = []

    def inner(req: Request) -> Reply:
        seen.append(req.headers.get("Authorization"))
        if "/blobs/" in (req.url or ""):
            return Reply(302, headers={"Location": "/storage/blob-data"})
        return Reply(200, DATA)

    client, _ = fake_client(_basic_registry(inner), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST) as stream:
        assert stream.read() == DATA
    assert seen == [BASIC_HEADER, BASIC_HEADER]


def test_redirect_loop_is_bounded() -> None:
    client, _ = fake_client(
        _basic_registry(lambda req: Reply(302, headers={"Location": "/loop"})), credentials=BASIC
    )
    with pytest.raises(RegistryError, match="redirects"), client.open_blob("ns/app", DIGEST) as stream:
        stream.read()


def test_offset_sends_range_and_expects_206() -> None:
    ranges: list[str | None] = []

    def inner(req: Request) -> Reply:
        ranges.append(req.headers.get("Range"))
        return _range_reply(req, DATA)

    client, _ = fake_client(_basic_registry(inner), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST, offset=1000) as stream:
        assert stream.read() == DATA[1000:]
    assert ranges == ["bytes=1000-"]


def test_offset_when_server_ignores_range() -> None:
    client, _ = fake_client(_basic_registry(lambda req: Reply(200, DATA)), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST, offset=1000) as stream:
        assert stream.read() == DATA[1000:]


def test_offset_with_wrong_content_range() -> None:
    client, _ = fake_client(
        _basic_registry(lambda req: Reply(206, DATA, {"Content-Range": "bytes 0-9/10"})), credentials=BASIC
    )
    with pytest.raises(IntegrityError, match="range"), client.open_blob("ns/app", DIGEST, offset=5):
        pass


def test_truncated_body_resumed_with_range() -> None:
    ranges: list[str | None] = []

    def inner(req: Request) -> Reply:
        ranges.append(req.headers.get("Range"))
        if len(ranges) == 1:
            return Reply(200, DATA[:5000])  # the connection "ends" early
        return _range_reply(req, DATA)

    client, _ = fake_client(_basic_registry(inner), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST, size=len(DATA)) as stream:
        assert stream.read() == DATA
    assert ranges == [None, "bytes=5000-"]


def test_blob_not_found() -> None:
    client, _ = fake_client(
        _basic_registry(lambda req: Reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')), credentials=BASIC
    )
    with pytest.raises(NotFoundError, match="blob not found"), client.open_blob("ns/app", DIGEST):
        pass
    assert client.blob_exists("ns/app", DIGEST) is False


def test_429_with_retry_after_is_retried() -> None:
    calls: list[int] = []

    def inner(req: Request) -> Reply:
        calls.append(1)
        if len(calls) < 3:
            return Reply(429, headers={"Retry-After": "0"})
        return Reply(200, DATA)

    sleeps: list[float] = []
    client, _ = fake_client(_basic_registry(inner), credentials=BASIC, sleeps=sleeps)
    with client.open_blob("ns/app", DIGEST) as stream:
        assert stream.read() == DATA
    assert len(calls) == 3 and sleeps == [0.0, 0.0]


def test_5xx_after_retries_is_registry_error() -> None:
    client, adapter = fake_client(_basic_registry(lambda req: Reply(503)), credentials=BASIC, retries=3)
    with pytest.raises(RegistryError, match="503"), client.open_blob("ns/app", DIGEST):
        pass
    assert sum(1 for r in adapter.requests if "/blobs/" in (r.url or "")) == 3


class UploadRegistry:
    def __init__(self, *, mount_status: int = 202, fail_patch_once: bool = False) -> None:
        self.received = bytearray()
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.mount_status = mount_status
        self.fail_patch_once = fail_patch_once
        self.done: str | None = None

    def __call__(self, req: Request) -> Reply:
        parts = urlsplit(req.url or "")
        self.calls.append((str(req.method), parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}))
        if parts.path == "/v2/":
            return Reply(200)
        if req.method == "HEAD":
            return Reply(200 if self.done else 404)
        if req.method == "POST":
            if "mount" in parse_qs(parts.query) and self.mount_status == 201:
                return Reply(201)
            return Reply(202, headers={"Location": "/v2/ns/app/blobs/uploads/u1?_state=s0"})
        if req.method == "PATCH":
            body = req.body if isinstance(req.body, bytes) else b""
            start, end = (int(x) for x in req.headers["Content-Range"].split("-"))
            if self.fail_patch_once and start > 0:
                self.fail_patch_once = False
                self.received += body[: len(body) // 2]  # half arrived, then the connection broke
                return Reply(raise_exc=ConnectFailed("reset"))
            if start != len(self.received):
                return Reply(416)
            self.received += body
            return Reply(
                202,
                headers={
                    "Location": f"/v2/ns/app/blobs/uploads/u1?_state=s{end}",
                    "Range": f"0-{len(self.received) - 1}",
                },
            )
        if req.method == "GET":
            return Reply(
                204,
                headers={
                    "Range": f"0-{len(self.received) - 1}",
                    "Location": "/v2/ns/app/blobs/uploads/u1?_state=status",
                },
            )
        if req.method == "PUT":
            raw: Any = req.body
            body = raw.read() if hasattr(raw, "read") else raw
            assert body is None or isinstance(body, bytes)
            self.received += body or b""
            digest = parse_qs(parts.query)["digest"][0]
            if digest != "sha256:" + hashlib.sha256(self.received).hexdigest():
                return Reply(400, b'{"errors":[{"code":"DIGEST_INVALID","message":"digest invalid"}]}')
            self.done = digest
            return Reply(201, headers={"Docker-Content-Digest": digest})
        if req.method == "DELETE":
            return Reply(204)
        return Reply(405)


def test_monolithic_upload() -> None:
    reg = UploadRegistry()
    client, _ = fake_client(reg)
    client.upload_blob("ns/app", io.BytesIO(DATA), DIGEST, len(DATA))
    assert reg.done == DIGEST
    methods = [c[0] for c in reg.calls if c[1] != "/v2/"]
    assert methods == ["HEAD", "POST", "PUT"]
    put = reg.calls[-1]
    assert put[2] == {"_state": "s0", "digest": DIGEST}


def test_upload_skipped_when_blob_exists() -> None:
    reg = UploadRegistry()
    reg.done = DIGEST
    client, _ = fake_client(reg)
    client.upload_blob("ns/app", io.BytesIO(DATA), DIGEST, len(DATA))
    assert [c[0] for c in reg.calls if c[1] != "/v2/"] == ["HEAD"]


def test_chunked_upload_with_content_range() -> None:
    reg = UploadRegistry()
    client, adapter = fake_client(reg)
    client.upload_blob("ns/app", io.BytesIO(DATA), DIGEST, len(DATA), chunk_size=6000)
    assert reg.done == DIGEST
    ranges = [r.headers["Content-Range"] for r in adapter.requests if r.method == "PATCH"]
    assert ranges == ["0-5999", "6000-11999", "12000-16383"]


def test_chunked_upload_resumes_after_broken_patch() -> None:
    reg = UploadRegistry(fail_patch_once=True)
    client, _ = fake_client(reg)
    client.upload_blob("ns/app", io.BytesIO(DATA), DIGEST, len(DATA), chunk_size=6000)
    assert bytes(reg.received) == DATA and reg.done == DIGEST
    assert "GET" in [c[0] for c in reg.calls]


def test_bad_digest_upload_is_integrity_error() -> None:
    client, _ = fake_client(UploadRegistry())
    with pytest.raises(IntegrityError):
        client.upload_blob("ns/app", io.BytesIO(DATA), "sha256:" + "0" * 64, len(DATA))


def test_mount_201_and_202() -> None:
    reg = UploadRegistry(mount_status=201)
    client, _ = fake_client(reg)
    assert client.mount_blob("ns/app", DIGEST, "ns/base") is True
    post = [c for c in reg.calls if c[0] == "POST"][0]
    assert post[2] == {"mount": DIGEST, "from": "ns/base"}

    reg = UploadRegistry(mount_status=202)
    client, _ = fake_client(reg)
    assert client.mount_blob("ns/app", DIGEST, "ns/base") is False
    assert reg.calls[-1][0] == "DELETE"


def test_mount_refused_falls_back() -> None:
    def handler(req: Request) -> Reply:
        if (req.url or "").endswith("/v2/"):
            return Reply(200)
        return Reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')

    client, _ = fake_client(handler)
    assert client.mount_blob("ns/app", DIGEST, "other/repo") is False


def test_netrc_is_never_applied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine reg.example login eve password netrc-pw\nmachine storage.example login eve password x\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    seen: dict[str, str | None] = {}

    def inner(req: Request) -> Reply:
        host = str(urlsplit(req.url or "").hostname)
        seen[host] = req.headers.get("Authorization")
        if host == "reg.example":
            return Reply(307, headers={"Location": "https://storage.example/blob"})
        return Reply(200, DATA)

    client, _ = fake_client(_basic_registry(inner), credentials=BASIC)
    with client.open_blob("ns/app", DIGEST) as stream:
        assert stream.read() == DATA
    assert seen == {"reg.example": BASIC_HEADER, "storage.example": None}

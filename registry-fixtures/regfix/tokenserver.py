"""A small Docker-registry token server (test fixture) for `auth: token` in CNCF distribution 2.8.

Implements the distribution token protocol: GET /token with Basic auth (or anonymous) and `scope`
parameters, and OAuth2 POST /token with grant_type=password or refresh_token. Tokens are ES256 JWTs
signed with a test key; its self-signed certificate is written as the registry's rootcertbundle and the
JWT header carries `kid` = libtrust key ID of that key, which is how distribution 2.8 finds the key.

Note: distribution 2.8 accepts exp/nbf with 60 s leeway, so a short `expires_in` shortens what the client is
told (and when it should refresh) but the registry keeps honouring the token for another minute.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DEFAULT_USERS = {"alice": "alice-secret", "bob": "bob-secret"}
DEFAULT_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "alice": {"*": ("pull", "push", "delete")},
    "bob": {"bob/*": ("pull", "push"), "private/*": ("pull",)},
}
DEFAULT_PUBLIC: dict[str, tuple[str, ...]] = {"public/*": ("pull",)}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """libtrust fingerprint: SHA256 of DER SubjectPublicKeyInfo, first 240 bits, base32, 4-char groups joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


@dataclass(frozen=True)
class TokenRequest:
    method: str
    user: str | None  # None = anonymous
    grant_type: str | None
    scopes: tuple[str, ...]
    service: str | None
    status: int
    offline: bool = False


@dataclass
class TokenPolicy:
    """users: name -> password; grants: user -> {repo glob: actions}; public: repo glob -> anonymous actions."""

    users: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_USERS))
    grants: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=lambda: dict(DEFAULT_GRANTS))
    public: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PUBLIC))

    def allowed(self, user: str | None, repo: str, wanted: Sequence[str]) -> list[str]:
        rules: list[Mapping[str, tuple[str, ...]]] = [self.public]
        if user is not None:
            rules.append(self.grants.get(user, {}))
        ok: set[str] = set()
        for rule in rules:
            for pattern, actions in rule.items():
                if fnmatch.fnmatchcase(repo, pattern):
                    ok.update(actions)
        if "*" in ok:
            return list(wanted)
        return [a for a in wanted if a in ok]


class TokenServer:
    """Threaded token server on 127.0.0.1. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        directory: Path,
        *,
        policy: TokenPolicy | None = None,
        service: str = "regfix-registry",
        issuer: str = "regfix-token-issuer",
        expires_in: int = 300,
    ) -> None:
        self.policy = policy or TokenPolicy()
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.requests: list[TokenRequest] = []
        self.fail_next: list[int] = []  # statuses to answer with before serving normally (fault injection)
        self._refresh: dict[str, str] = {}  # refresh token -> user
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = libtrust_key_id(self._key.public_key())
        directory.mkdir(parents=True, exist_ok=True)
        self.rootcertbundle = directory / "token-signer.pem"
        self.rootcertbundle.write_bytes(self._certificate().public_bytes(serialization.Encoding.PEM))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def realm(self) -> str:
        assert self._httpd is not None, "token server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def start(self) -> TokenServer:
        server = self

        class Handler(_TokenHandler):
            token_server = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="regfix-token", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- counters
    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.fail_next.clear()

    def _record(self, req: TokenRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _pop_fault(self) -> int | None:
        with self._lock:
            return self.fail_next.pop(0) if self.fail_next else None

    # ---------------------------------------------------------------- tokens
    def _certificate(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regfix token signer")])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    def grant(self, user: str | None, scopes: Sequence[str]) -> list[dict[str, object]]:
        access: list[dict[str, object]] = []
        for scope in scopes:
            for one in scope.split(" "):
                head, sep, actions = one.rpartition(":")
                typ, sep2, name = head.partition(":")
                if not sep or not sep2:
                    continue
                typ = typ.split("(")[0]
                if typ != "repository":
                    continue
                ok = self.policy.allowed(user, name, [a for a in actions.split(",") if a])
                if ok:
                    access.append({"type": "repository", "name": name, "actions": ok})
        return access

    def issue(self, user: str | None, access: list[dict[str, object]], expires_in: int | None = None) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "kid": self.key_id}
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + (self.expires_in if expires_in is None else expires_in),
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def new_refresh_token(self, user: str) -> str:
        tok = "rt-" + secrets.token_urlsafe(16)
        with self._lock:
            self._refresh[tok] = user
        return tok

    def refresh_user(self, token: str) -> str | None:
        with self._lock:
            return self._refresh.get(token)

    def check_password(self, user: str, password: str) -> bool:
        expected = self.policy.users.get(user)
        return expected is not None and secrets.compare_digest(expected.encode(), password.encode())


class _TokenHandler(BaseHTTPRequestHandler):
    token_server: TokenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _json(self, status: int, body: Mapping[str, object], extra: Mapping[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _token_body(self, user: str | None, scopes: Sequence[str], refresh: str | None) -> dict[str, object]:
        ts = self.token_server
        tok = ts.issue(user, ts.grant(user, scopes))
        body: dict[str, object] = {
            "token": tok,
            "access_token": tok,
            "expires_in": ts.expires_in,
            "issued_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    def do_GET(self) -> None:  # noqa: N802
        ts = self.token_server
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        scopes = tuple(q.get("scope", []))
        service = q.get("service", [None])[0]
        offline = q.get("offline_token", ["false"])[0] == "true"
        fault = ts._pop_fault()
        if url.path != "/token" or fault is not None:
            status = fault or 404
            ts._record(TokenRequest("GET", None, None, scopes, service, status, offline))
            self._json(status, {"errors": [{"code": "UNAVAILABLE", "message": "injected fault"}]})
            return
        user: str | None = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                name, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                name, pw = "", ""
            if not ts.check_password(name, pw):
                ts._record(TokenRequest("GET", name or None, None, scopes, service, 401, offline))
                self._json(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication failed"}]},
                    {"WWW-Authenticate": 'Basic realm="regfix-token"'},
                )
                return
            user = name
        refresh = ts.new_refresh_token(user) if (offline and user) else None
        ts._record(TokenRequest("GET", user, None, scopes, service, 200, offline))
        self._json(200, self._token_body(user, scopes, refresh))

    def do_POST(self) -> None:  # noqa: N802
        ts = self.token_server
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        grant = form.get("grant_type", [""])[0]
        scopes = tuple(s for v in form.get("scope", []) for s in v.split(" ") if s)
        service = form.get("service", [None])[0]
        fault = ts._pop_fault()
        if urlsplit(self.path).path != "/token" or fault is not None:
            status = fault or 404
            ts._record(TokenRequest("POST", None, grant, scopes, service, status))
            self._json(status, {"error": "temporarily_unavailable"})
            return
        user: str | None = None
        if grant == "password":
            name, pw = form.get("username", [""])[0], form.get("password", [""])[0]
            if ts.check_password(name, pw):
                user = name
        elif grant == "refresh_token":
            user = ts.refresh_user(form.get("refresh_token", [""])[0])
        else:
            ts._record(TokenRequest("POST", None, grant, scopes, service, 400))
            self._json(400, {"error": "unsupported_grant_type"})
            return
        if user is None:
            ts._record(TokenRequest("POST", None, grant, scopes, service, 401))
            self._json(401, {"error": "invalid_grant"})
            return
        refresh = ts.new_refresh_token(user) if grant == "password" else form.get("refresh_token", [""])[0]
        ts._record(TokenRequest("POST", user, grant, scopes, service, 200, True))
        body = self._token_body(user, scopes, refresh)
        body["scope"] = " ".join(scopes)
        self._json(200, body)

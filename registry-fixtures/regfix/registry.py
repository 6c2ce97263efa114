"""Run Debian's `docker-registry` (CNCF distribution 2.8) as a real registry for tests.

with start_registry(tmp_path) as reg:           # plain HTTP on a free 127.0.0.1 port
    requests.get(reg.url + "/v2/")
start_registry(tmp, tls=True)                   # reg.ca_file: CA that signed its certificate (trustme)
start_registry(tmp, htpasswd={"user": "pw"})    # bcrypt htpasswd
start_registry(tmp, token=TokenServer(...).start())
start_registry(tmp, proxy_remote=upstream.url)  # pull-through cache
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:  # the token server needs cryptography (a test dependency; the demo does not)
    from regfix.tokenserver import TokenServer


BINARY_ENV = "REGFIX_DOCKER_REGISTRY"
DEFAULT_BINARY = "/usr/bin/docker-registry"


class RegistryStartError(RuntimeError):
    pass


def registry_binary() -> str | None:
    cand = os.environ.get(BINARY_ENV) or DEFAULT_BINARY
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    return shutil.which("docker-registry") or shutil.which("registry")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_htpasswd(path: Path, users: Mapping[str, str]) -> Path:
    import bcrypt  # only for htpasswd registries (a test dependency; the demo does not need it)

    lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}" for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class TLSFiles:
    ca_file: Path  # PEM of the CA to trust
    cert_file: Path  # server certificate chain (127.0.0.1, localhost)
    key_file: Path


def make_tls(directory: Path) -> TLSFiles:
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    cert.private_key_pem.write_to_path(str(files.key_file))
    with open(files.cert_file, "wb") as f:
        for blob in cert.cert_chain_pems:
            f.write(blob.bytes())
    return files


@dataclass
class Registry:
    """A running docker-registry process."""

    host: str  # "127.0.0.1:PORT" — use as the registry part of references
    scheme: str
    directory: Path
    log_path: Path
    config: dict[str, Any]
    process: subprocess.Popen[bytes]
    ca_file: Path | None = None
    users: dict[str, str] = field(default_factory=dict)
    token_server: TokenServer | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def registry_config(
    storage: Path,
    port: int,
    *,
    tls: TLSFiles | None = None,
    htpasswd_file: Path | None = None,
    token: TokenServer | None = None,
    proxy_remote: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
) -> dict[str, Any]:
    http: dict[str, Any] = {
        "addr": f"127.0.0.1:{port}",
        "secret": "regfix-not-a-secret",
        "headers": {"X-Content-Type-Options": ["nosniff"]},
    }
    if tls:
        http["tls"] = {"certificate": str(tls.cert_file), "key": str(tls.key_file)}
    cfg: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": http,
        "health": {"storagedriver": {"enabled": False}},
    }
    if htpasswd_file and token:
        raise ValueError("choose htpasswd or token auth, not both")
    if htpasswd_file:
        cfg["auth"] = {"htpasswd": {"realm": "regfix-basic", "path": str(htpasswd_file)}}
    if token:
        cfg["auth"] = {
            "token": {
                "realm": token.realm,
                "service": token.service,
                "issuer": token.issuer,
                "rootcertbundle": str(token.rootcertbundle),
            }
        }
    if proxy_remote:
        proxy: dict[str, str] = {"remoteurl": proxy_remote}
        if proxy_username is not None:
            proxy["username"] = proxy_username
            proxy["password"] = proxy_password or ""
        cfg["proxy"] = proxy
    return cfg


def start_registry(
    directory: Path,
    *,
    tls: bool | TLSFiles = False,
    htpasswd: Mapping[str, str] | None = None,
    token: TokenServer | None = None,
    proxy_remote: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> Registry:
    """Start docker-registry with storage, config and log under `directory`; return once /v2/ answers.

    For a TLS upstream in proxy mode, pass `extra_env={"SSL_CERT_FILE": str(upstream.ca_file)}`.
    """
    binary = registry_binary()
    if binary is None:
        raise RegistryStartError(
            "docker-registry binary not found (apt install docker-registry, or set REGFIX_DOCKER_REGISTRY)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    tls_files = make_tls(directory / "tls") if tls is True else (tls or None)
    htpasswd_file = write_htpasswd(directory / "htpasswd", htpasswd) if htpasswd else None
    last_error = ""
    for attempt in range(3):  # a free port can be grabbed by someone else between probe and bind
        port = free_port()
        cfg = registry_config(
            directory / "storage",
            port,
            tls=tls_files,
            htpasswd_file=htpasswd_file,
            token=token,
            proxy_remote=proxy_remote,
            proxy_username=proxy_username,
            proxy_password=proxy_password,
        )
        config_path = directory / "config.yml"
        config_path.write_text(json.dumps(cfg, indent=2))  # JSON is YAML
        log_path = directory / f"registry-{attempt}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update(extra_env or {})
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [binary, "serve", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        reg = Registry(
            host=f"127.0.0.1:{port}",
            scheme="https" if tls_files else "http",
            directory=directory,
            log_path=log_path,
            config=cfg,
            process=proc,
            ca_file=tls_files.ca_file if tls_files else None,
            users=dict(htpasswd or {}),
            token_server=token,
        )
        try:
            wait_ready(reg, timeout)
            return reg
        except RegistryStartError as e:
            reg.stop()
            last_error = str(e)
            if "address already in use" not in reg.logs():
                raise
    raise RegistryStartError(last_error)


def wait_ready(reg: Registry, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    verify: bool | str = str(reg.ca_file) if reg.ca_file else True
    while time.monotonic() < deadline:
        if not reg.alive():
            raise RegistryStartError(
                f"docker-registry exited with {reg.process.returncode}; log:\n{reg.logs()}"
            )
        try:
            r = requests.get(reg.url + "/v2/", timeout=1, verify=verify)
            if r.status_code in (200, 401):
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RegistryStartError(f"docker-registry did not answer /v2/ within {timeout}s; log:\n{reg.logs()}")

"""Put OCI layouts into a registry.

`skopeo_copy` uses skopeo as an independent oracle (tests only; the product never shells out to it).
`http_push` speaks the distribution API directly with requests, for content skopeo 1.9 will not read from
an OCI layout (Docker media types in index.json) or must not "fix" (deliberately inconsistent images).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from regfix.oci import DOCKER_LIST, OCI_INDEX, Layout, sha256_digest
from regfix.registry import Registry

SKOPEO_ENV = "REGFIX_SKOPEO"


class PushError(RuntimeError):
    pass


def skopeo_binary() -> str | None:
    cand = os.environ.get(SKOPEO_ENV) or "/usr/bin/skopeo"
    return cand if os.access(cand, os.X_OK) else shutil.which("skopeo")


@dataclass(frozen=True)
class Pushed:
    registry: str  # host:port
    repository: str
    tag: str
    digest: str  # manifest or index digest in the registry

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def digest_ref(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


def skopeo_copy(
    layout: Layout,
    host: str,
    repository: str,
    tag: str | None = None,
    *,
    creds: tuple[str, str] | None = None,
    ca_file: Path | None = None,
    timeout: float = 120,
) -> Pushed:
    """`skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG` (with --all for an index); digests preserved."""
    skopeo = skopeo_binary()
    if skopeo is None:
        raise PushError("skopeo not found (apt install skopeo)")
    tag = tag or layout.tag
    with tempfile.TemporaryDirectory(prefix="regfix-skopeo-") as tmp:
        t = Path(tmp)
        (t / "auth.json").write_text('{"auths":{}}')
        (t / "registries.conf").write_text("")
        digestfile = t / "digest"
        args = [
            skopeo,
            "--insecure-policy",
            "copy",
            "--preserve-digests",
            "--retry-times",
            "0",
            "--digestfile",
            str(digestfile),
        ]
        if layout.index is not None:
            args.append("--all")
        if ca_file is not None:
            certs = t / "certs"
            certs.mkdir()
            shutil.copy(ca_file, certs / "ca.crt")
            args += ["--dest-cert-dir", str(certs), "--dest-tls-verify=true"]
        else:
            args.append("--dest-tls-verify=false")
        if creds is not None:
            args += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
        args += [layout.oci_ref, f"docker://{host}/{repository}:{tag}"]
        env = dict(
            os.environ,
            REGISTRY_AUTH_FILE=str(t / "auth.json"),
            CONTAINERS_REGISTRIES_CONF=str(t / "registries.conf"),
        )
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
        if proc.returncode != 0:
            shown = (
                " ".join(a if not a.startswith(f"{creds[0]}:") else "<creds>" for a in args)
                if creds
                else " ".join(args)
            )
            raise PushError(f"skopeo copy failed ({proc.returncode}): {shown}\n{proc.stderr}")
        digest = digestfile.read_text().strip()
    if digest != layout.digest:
        raise PushError(f"skopeo pushed {digest}, layout has {layout.digest}")
    return Pushed(host, repository, tag, digest)


def push(
    layout: Layout,
    registry: Registry,
    repository: str,
    tag: str | None = None,
    *,
    creds: tuple[str, str] | None = None,
) -> Pushed:
    """Push with skopeo when it can read the layout, else with http_push (Docker media types)."""
    docker = layout.media_type.startswith("application/vnd.docker.")
    if docker:
        return http_push(
            layout,
            registry.url,
            repository,
            tag,
            auth=creds,
            verify=str(registry.ca_file) if registry.ca_file else True,
        )
    return skopeo_copy(layout, registry.host, repository, tag, creds=creds, ca_file=registry.ca_file)


# ------------------------------------------------------------------------------------------- raw HTTP


class _Client:
    def __init__(self, base: str, repository: str, auth: tuple[str, str] | None, verify: bool | str) -> None:
        self.base, self.repo, self.auth = base.rstrip("/"), repository, auth
        self.s = requests.Session()
        self.s.verify = verify
        self.bearer: str | None = None

    def call(
        self, method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        for attempt in range(2):
            h = dict(headers or {})
            if self.bearer:
                h["Authorization"] = f"Bearer {self.bearer}"
            r = self.s.request(
                method, url, data=data, headers=h, auth=self.auth if (self.auth and not self.bearer) else None
            )
            chal = r.headers.get("WWW-Authenticate", "")
            if r.status_code != 401 or not chal.lower().startswith("bearer ") or attempt:
                return r
            params = dict(p.split("=", 1) for p in chal[7:].replace('"', "").split(","))
            realm = params.pop("realm")
            params.pop("error", None)
            params["scope"] = f"repository:{self.repo}:pull,push"
            tr = self.s.get(realm, params=params, auth=self.auth)
            tr.raise_for_status()
            self.bearer = tr.json().get("token") or tr.json()["access_token"]
        return r

    def blob(self, data: bytes) -> None:
        digest = sha256_digest(data)
        if self.call("HEAD", f"{self.base}/v2/{self.repo}/blobs/{digest}").status_code == 200:
            return
        r = self.call("POST", f"{self.base}/v2/{self.repo}/blobs/uploads/")
        if r.status_code != 202:
            raise PushError(f"upload start {r.status_code}: {r.text}")
        loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = self.base + loc
        sep = "&" if "?" in loc else "?"
        r = self.call(
            "PUT",
            f"{loc}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if r.status_code != 201:
            raise PushError(f"blob upload {r.status_code}: {r.text}")

    def manifest(self, ref: str, raw: bytes, media_type: str) -> str:
        r = self.call(
            "PUT",
            f"{self.base}/v2/{self.repo}/manifests/{ref}",
            data=raw,
            headers={"Content-Type": media_type},
        )
        if r.status_code != 201:
            raise PushError(f"manifest put {r.status_code}: {r.text}")
        return r.headers.get("Docker-Content-Digest", sha256_digest(raw))


def http_push(
    layout: Layout,
    base_url: str,
    repository: str,
    tag: str | None = None,
    *,
    auth: tuple[str, str] | None = None,
    verify: bool | str = True,
) -> Pushed:
    """Upload every blob and manifest of `layout` as-is (monolithic uploads), then tag the top object."""
    c = _Client(base_url, repository, auth, verify)
    blobs = layout.path / "blobs" / "sha256"
    for im in layout.images:
        c.blob((blobs / im.config_digest.split(":")[1]).read_bytes())
        for la in im.layers:
            c.blob((blobs / la.digest.split(":")[1]).read_bytes())
        if layout.index is not None:
            c.manifest(im.digest, im.manifest, im.media_type)
    if layout.index is not None:
        media = json.loads(layout.index).get("mediaType") or OCI_INDEX
        assert media in (OCI_INDEX, DOCKER_LIST)
        digest = c.manifest(tag or layout.tag, layout.index, media)
    else:
        digest = c.manifest(tag or layout.tag, layout.image.manifest, layout.image.media_type)
    host = base_url.split("://", 1)[-1].rstrip("/")
    return Pushed(host, repository, tag or layout.tag, digest)

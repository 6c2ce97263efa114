"""The registry fixtures themselves: real docker-registry processes behave as the other tests assume."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable

import pytest
import requests
from regfix import bundles
from regfix.faults import FaultProxy
from regfix.oci import OCI_INDEX, OCI_MANIFEST, File, ImageSpec, Layer, sha256_digest
from regfix.pytest_plugin import HTPASSWD_USER, TOKEN_USER, PushedImage
from regfix.registry import Registry

pytestmark = [pytest.mark.registry]

ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json"])


def _token(reg: Registry, scope: str, auth: tuple[str, str] | None = None) -> str:
    ts = reg.token_server
    assert ts is not None
    r = requests.get(ts.realm, params={"service": ts.service, "scope": scope}, auth=auth, timeout=10)
    r.raise_for_status()
    return str(r.json()["token"])


def test_registry_answers_v2(registry: Registry) -> None:
    r = requests.get(registry.url + "/v2/", timeout=5)
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.host.startswith("127.0.0.1:")


def test_pushed_bundle_manifest_is_fetchable_with_requests(pushed_bundle: PushedImage) -> None:
    base = pushed_bundle.registry.url + "/v2/" + pushed_bundle.repository
    r = requests.get(base + "/manifests/v1.4.2", headers={"Accept": ACCEPT}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == OCI_MANIFEST
    assert sha256_digest(r.content) == pushed_bundle.digest == r.headers["Docker-Content-Digest"]
    manifest = r.json()
    config = requests.get(base + "/blobs/" + manifest["config"]["digest"], timeout=10).json()
    labels = config["config"]["Labels"]
    for key in bundles.BUNDLE_KEYS:
        assert labels[key] == pushed_bundle.fixture.annotations[key]
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    first = manifest["layers"][0]
    blob = requests.get(base + "/blobs/" + first["digest"], timeout=10).content
    assert sha256_digest(blob) == first["digest"] and len(blob) == first["size"]


def test_multi_arch_index_is_pushed_whole(pushed_fixtures: dict[str, PushedImage]) -> None:
    img = pushed_fixtures["multi-arch"]
    r = requests.get(
        f"{img.registry.url}/v2/{img.repository}/manifests/v1", headers={"Accept": ACCEPT}, timeout=10
    )
    assert r.headers["Content-Type"] == OCI_INDEX
    assert sha256_digest(r.content) == img.digest
    plats = [(m["platform"]["architecture"], m["platform"].get("variant")) for m in r.json()["manifests"]]
    assert plats == [("amd64", None), ("arm64", "v8")]
    for m in r.json()["manifests"]:
        child = requests.get(
            f"{img.registry.url}/v2/{img.repository}/manifests/{m['digest']}",
            headers={"Accept": ACCEPT},
            timeout=10,
        )
        assert child.status_code == 200


def test_docker_media_types_survive_push(pushed_fixtures: dict[str, PushedImage]) -> None:
    img = pushed_fixtures["docker-media"]
    r = requests.get(
        f"{img.registry.url}/v2/{img.repository}/manifests/v1", headers={"Accept": ACCEPT}, timeout=10
    )
    assert r.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert r.json()["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert sha256_digest(r.content) == img.digest


def test_tls_registry_needs_the_ca_file(tls_registry: Registry) -> None:
    assert tls_registry.url.startswith("https://") and tls_registry.ca_file is not None
    assert (
        requests.get(tls_registry.url + "/v2/", verify=str(tls_registry.ca_file), timeout=5).status_code
        == 200
    )
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_registry.url + "/v2/", timeout=5)


def test_htpasswd_registry_denies_without_credentials(htpasswd_registry: Registry) -> None:
    anon = requests.get(htpasswd_registry.url + "/v2/", timeout=5)
    assert anon.status_code == 401
    assert anon.headers["WWW-Authenticate"].startswith("Basic ")
    assert (
        requests.get(htpasswd_registry.url + "/v2/", auth=(HTPASSWD_USER[0], "wrong"), timeout=5).status_code
        == 401
    )
    assert requests.get(htpasswd_registry.url + "/v2/", auth=HTPASSWD_USER, timeout=5).status_code == 200


def test_token_registry_private_pull_needs_token_with_access(
    token_registry: Registry, pushed_private_bundle: PushedImage
) -> None:
    url = f"{token_registry.url}/v2/{pushed_private_bundle.repository}/manifests/v1.4.2"
    anon = requests.get(url, headers={"Accept": ACCEPT}, timeout=5)
    assert anon.status_code == 401
    chal = anon.headers["WWW-Authenticate"]
    assert (
        chal.startswith("Bearer ") and f'scope="repository:{pushed_private_bundle.repository}:pull"' in chal
    )

    scope = f"repository:{pushed_private_bundle.repository}:pull"
    anon_token = _token(token_registry, scope)
    denied = requests.get(url, headers={"Accept": ACCEPT, "Authorization": f"Bearer {anon_token}"}, timeout=5)
    assert denied.status_code == 401 and "insufficient_scope" in denied.headers["WWW-Authenticate"]

    for user in (TOKEN_USER, ("bob", "bob-secret")):
        tok = _token(token_registry, scope, auth=user)
        ok = requests.get(url, headers={"Accept": ACCEPT, "Authorization": f"Bearer {tok}"}, timeout=5)
        assert ok.status_code == 200 and sha256_digest(ok.content) == pushed_private_bundle.digest

    ts = token_registry.token_server
    assert ts is not None
    assert ts.count == 3
    assert [r.user for r in ts.requests] == [None, "alice", "bob"]


def test_token_server_jwt_header_and_wrong_password(token_registry: Registry) -> None:
    ts = token_registry.token_server
    assert ts is not None
    tok = _token(token_registry, "repository:x/y:pull", auth=TOKEN_USER)
    header = json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["kid"] == ts.key_id
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", ts.key_id)
    bad = requests.get(
        ts.realm,
        params={"service": ts.service, "scope": "repository:x/y:pull"},
        auth=("alice", "nope"),
        timeout=5,
    )
    assert bad.status_code == 401 and "token" not in bad.json()


def test_token_server_oauth2_password_and_refresh_grants(
    token_registry: Registry, pushed_private_bundle: PushedImage
) -> None:
    ts = token_registry.token_server
    assert ts is not None
    scope = f"repository:{pushed_private_bundle.repository}:pull"
    form = {
        "grant_type": "password",
        "username": TOKEN_USER[0],
        "password": TOKEN_USER[1],
        "service": ts.service,
        "scope": scope,
        "client_id": "regfix-test",
    }
    first = requests.post(ts.realm, data=form, timeout=5).json()
    assert first["refresh_token"]
    again = requests.post(
        ts.realm,
        timeout=5,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "service": ts.service,
            "scope": scope,
            "client_id": "regfix-test",
        },
    )
    assert again.status_code == 200
    url = f"{token_registry.url}/v2/{pushed_private_bundle.repository}/manifests/v1.4.2"
    r = requests.get(
        url, headers={"Accept": ACCEPT, "Authorization": f"Bearer {again.json()['access_token']}"}, timeout=5
    )
    assert r.status_code == 200
    bad = requests.post(ts.realm, data={"grant_type": "refresh_token", "refresh_token": "forged"}, timeout=5)
    assert bad.status_code == 401
    assert [(r.grant_type, r.status) for r in ts.requests] == [
        ("password", 200),
        ("refresh_token", 200),
        ("refresh_token", 401),
    ]


def test_token_registry_public_repo_allows_anonymous_pull(
    token_registry: Registry, push_image: Callable[..., PushedImage]
) -> None:
    img = push_image(
        token_registry,
        ImageSpec(layers=[Layer([File("hello.txt", "public\n")])]),
        "public/hello",
        creds=TOKEN_USER,
    )
    tok = _token(token_registry, "repository:public/hello:pull")
    r = requests.get(
        f"{token_registry.url}/v2/public/hello/manifests/v1",
        headers={"Accept": ACCEPT, "Authorization": f"Bearer {tok}"},
        timeout=5,
    )
    assert r.status_code == 200 and sha256_digest(r.content) == img.digest


def test_proxy_registry_serves_upstream_content(
    pushed_bundle: PushedImage, proxy_registry: Callable[..., Registry]
) -> None:
    cache = proxy_registry(pushed_bundle.registry)
    r = requests.get(
        f"{cache.url}/v2/{pushed_bundle.repository}/manifests/{pushed_bundle.digest}",
        headers={"Accept": ACCEPT},
        timeout=10,
    )
    assert r.status_code == 200 and sha256_digest(r.content) == pushed_bundle.digest
    layer = r.json()["layers"][1]
    blob = requests.get(
        f"{cache.url}/v2/{pushed_bundle.repository}/blobs/{layer['digest']}", timeout=10
    ).content
    assert sha256_digest(blob) == layer["digest"]
    push = requests.post(f"{cache.url}/v2/{pushed_bundle.repository}/blobs/uploads/", timeout=10)
    assert push.status_code in (401, 405)  # a pull-through cache refuses pushes


def test_proxy_registry_with_authenticated_upstream(
    pushed_private_bundle: PushedImage, token_registry: Registry, proxy_registry: Callable[..., Registry]
) -> None:
    cache = proxy_registry(token_registry, *TOKEN_USER)
    r = requests.get(
        f"{cache.url}/v2/{pushed_private_bundle.repository}/manifests/v1.4.2",
        headers={"Accept": ACCEPT},
        timeout=10,
    )
    assert r.status_code == 200 and sha256_digest(r.content) == pushed_private_bundle.digest


def _blob_url(base: str, img: PushedImage, index: int = 0) -> tuple[str, str, int]:
    layer = img.layout.image.layers[index]
    return f"{base}/v2/{img.repository}/blobs/{layer.digest}", layer.digest, layer.size


def test_fault_proxy_passes_through_then_corrupts(
    pushed_bundle: PushedImage, fault_proxy: Callable[..., FaultProxy]
) -> None:
    fp = fault_proxy(pushed_bundle.registry)
    url, digest, size = _blob_url(fp.url, pushed_bundle)
    assert sha256_digest(requests.get(url, timeout=10).content) == digest
    fp.plan.corrupt_blobs = {digest}
    fp.plan.corrupt_times = 1
    bad = requests.get(url, timeout=10).content
    assert len(bad) == size and sha256_digest(bad) != digest
    assert sha256_digest(requests.get(url, timeout=10).content) == digest  # only once
    assert [r.fault for r in fp.requests] == [None, "corrupt", None]


def test_fault_proxy_drops_mid_blob_and_serves_ranges(
    pushed_bundle: PushedImage, fault_proxy: Callable[..., FaultProxy]
) -> None:
    fp = fault_proxy(pushed_bundle.registry)
    url, digest, size = _blob_url(fp.url, pushed_bundle)
    fp.plan.drop_blob_after = 1000
    got = bytearray()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.get(url, stream=True, timeout=10) as r:
            for chunk in r.iter_content(100):
                got += chunk
    assert len(got) == 1000
    rest = requests.get(url, headers={"Range": "bytes=1000-"}, timeout=10)
    assert rest.status_code == 206
    assert sha256_digest(bytes(got) + rest.content) == digest and len(got) + len(rest.content) == size


def test_fault_proxy_rate_limits_and_counts_connections(
    registry: Registry, fault_proxy: Callable[..., FaultProxy]
) -> None:
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 2
    fp.plan.retry_after = "3"
    with requests.Session() as s:
        answers = [s.get(fp.url + "/v2/", timeout=5) for _ in range(3)]
    assert [(a.status_code, a.headers.get("Retry-After")) for a in answers] == [
        (429, "3"),
        (429, "3"),
        (200, None),
    ]
    assert fp.connections == 1  # keep-alive honoured
    requests.get(fp.url + "/v2/", timeout=5)
    assert fp.connections == 2


def test_fault_proxy_redirects_blobs_and_records_headers(
    pushed_bundle: PushedImage, fault_proxy: Callable[..., FaultProxy]
) -> None:
    fp = fault_proxy(pushed_bundle.registry)
    fp.plan.redirect_blobs = True
    url, digest, _ = _blob_url(fp.url, pushed_bundle)
    r = requests.get(url, headers={"Authorization": "Bearer sentinel-token"}, timeout=10)
    assert r.status_code == 200 and sha256_digest(r.content) == digest
    assert r.history and r.history[0].status_code == 307
    assert r.history[0].headers["Location"].startswith("http://localhost:")
    seen = fp.redirect_requests
    assert len(seen) == 1 and "Authorization" not in seen[0]  # requests strips auth across hosts


def test_push_to_tls_and_htpasswd_registries(
    tls_registry: Registry,
    htpasswd_registry: Registry,
    push_image: Callable[..., PushedImage],
    proxy_registry: Callable[..., Registry],
) -> None:
    spec = ImageSpec(layers=[Layer([File("etc/hello", "tls\n")])])
    img = push_image(tls_registry, spec, "tls/hello")
    r = requests.get(
        f"{tls_registry.url}/v2/tls/hello/manifests/v1",
        headers={"Accept": ACCEPT},
        verify=str(tls_registry.ca_file),
        timeout=5,
    )
    assert sha256_digest(r.content) == img.digest
    cache = proxy_registry(tls_registry)  # pull-through from a TLS upstream trusts its CA
    r = requests.get(f"{cache.url}/v2/tls/hello/manifests/v1", headers={"Accept": ACCEPT}, timeout=10)
    assert r.status_code == 200 and sha256_digest(r.content) == img.digest

    img = push_image(htpasswd_registry, spec, "basic/hello", creds=HTPASSWD_USER)
    url = f"{htpasswd_registry.url}/v2/basic/hello/manifests/v1"
    assert requests.get(url, headers={"Accept": ACCEPT}, timeout=5).status_code == 401
    r = requests.get(url, headers={"Accept": ACCEPT}, auth=HTPASSWD_USER, timeout=5)
    assert sha256_digest(r.content) == img.digest


def test_fault_proxy_records_a_request_before_answering_it(
    pushed_bundle: PushedImage, fault_proxy: Callable[..., FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that has its answer (a HEAD, a bodyless 201) may look at ``requests`` at once: the
    request must be there already. A pause after the headers go out makes the old order (answer,
    then record) miss it every time; a test that reset the proxy after a push then saw the push's
    last PUT appear among the requests it was checking."""
    import time
    from http.server import BaseHTTPRequestHandler

    real_end_headers = BaseHTTPRequestHandler.end_headers

    def end_headers_then_pause(self: BaseHTTPRequestHandler) -> None:
        real_end_headers(self)
        time.sleep(0.3)

    fp = fault_proxy(pushed_bundle.registry)
    monkeypatch.setattr(BaseHTTPRequestHandler, "end_headers", end_headers_then_pause)
    path = f"/v2/{pushed_bundle.repository}/manifests/{pushed_bundle.digest}"
    r = requests.head(fp.url + path, headers={"Accept": OCI_MANIFEST}, timeout=10)
    assert r.status_code == 200
    assert [(q.method, q.path) for q in fp.requests] == [("HEAD", path)]

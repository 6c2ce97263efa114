"""Credentials under hostile conditions, through the CLI against real registries: short passwords
echoed back by a registry, non-latin-1 passwords on token registries, 429 at the token endpoint."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix import bundles
from regfix.pytest_plugin import TOKEN_USER, PushedImage

from tests.e2e.cli import Run, run_cli

pytestmark = pytest.mark.registry

SMALL = bundles.registry_v1_bundle(large_crd=False)


def _pull(home: Path, ref: str, host: str, *extra: str) -> Run:
    return run_cli(
        "pull", ref, "-o", str(home / "out"), "--insecure-registry", host, "--force", *extra, home=home
    )


def test_three_character_password_echoed_by_the_registry_is_redacted(
    registry_factory: Callable[..., Any],
    push_image: Callable[..., PushedImage],
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
) -> None:
    reg = registry_factory(htpasswd={"carol": "abc"})
    push_image(reg, SMALL, "short/pw", creds=("carol", "abc"))
    fp = fault_proxy(reg)
    fp.plan.echo_authorization = True
    r = _pull(tmp_path, f"{fp.host}/short/pw:v1", fp.host, "--creds", "carol:abc", "-v", "-v")
    assert r.code != 0
    assert any(s.fault == "echo" for s in fp.requests)  # the registry did echo the header
    assert "not accepted here" in r.stderr
    text = r.stdout + r.stderr
    assert base64.b64encode(b"carol:abc").decode() not in text
    assert "carol:abc" not in text


def test_non_latin1_password_on_a_token_registry(
    token_registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    push_image(token_registry, SMALL, "utf8/bundle", creds=TOKEN_USER)
    token_registry.token_server.reset()
    password = "pässwörd-✓-密码"
    token_registry.token_server.policy.users["zoë"] = password
    token_registry.token_server.policy.grants["zoë"] = {"*": ("pull",)}
    r = _pull(
        tmp_path, f"{token_registry.host}/utf8/bundle:v1", token_registry.host, "--creds", f"zoë:{password}"
    )
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "manifests").is_dir()
    assert password not in r.stdout + r.stderr
    seen = [q for q in token_registry.token_server.requests if q.status == 200]
    assert seen and all(q.user == "zoë" for q in seen)


def test_429_from_the_token_endpoint_is_retried(
    token_registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    push_image(token_registry, SMALL, "ratelimited/bundle", creds=TOKEN_USER)
    ts = token_registry.token_server
    ts.reset()
    ts.fail_next.append(429)
    r = _pull(
        tmp_path,
        f"{token_registry.host}/ratelimited/bundle:v1",
        token_registry.host,
        "--creds",
        "alice:alice-secret",
    )
    assert r.code == 0, r.stderr
    statuses = [q.status for q in ts.requests]
    assert statuses[:2] == [429, 200], statuses


PW = "alice-Secret-7"


def _imgpkg_world(*hosts: str) -> Any:
    from imgextract.auth.credentials import Credentials
    from tests.integration.test_imgpkg_copy import Creds, world

    return world(*hosts, creds=Creds({(h, ""): Credentials("alice", PW) for h in hosts}))


def test_creds_never_go_to_a_registry_named_by_image_content(
    registry_factory: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    from imgextract.imgpkg.image import build_image
    from tests.integration.test_imgpkg_copy import bundle_image, push

    a = registry_factory(htpasswd={"alice": PW})
    other = fault_proxy(registry_factory(htpasswd={"alice": PW}))  # whoever wrote the bundle chose it
    w = _imgpkg_world(a.host, other.host)
    app = build_image({"app/main.txt": b"app\n"})
    push(w.client_for(other.host), "other/app", app, "v1")
    inner = bundle_image([f"{other.host}/other/app@{app.digest}"])
    push(w.client_for(other.host), "other/inner", inner, "bundle")
    outer = bundle_image([f"{other.host}/other/inner@{inner.digest}"])
    push(w.client_for(a.host), "team/outer", outer, "bundle")
    other.reset()
    r = run_cli(
        "pull",
        f"{a.host}/team/outer:bundle",
        "-o",
        str(tmp_path / "out"),
        "-r",
        "--creds",
        f"alice:{PW}",
        "--insecure-registry",
        a.host,
        "--insecure-registry",
        other.host,
        home=tmp_path,
    )
    assert other.requests, "the nested bundle's registry was never asked"
    assert [(q.method, q.path) for q in other.requests if "Authorization" in q.headers] == []
    assert r.code == 3, r.stderr  # it wants credentials we were not told to give it
    assert PW not in r.stdout + r.stderr


def test_copy_reads_through_the_configured_mirrors(
    registry_factory: Callable[..., Any], tmp_path: Path
) -> None:
    from imgextract.imgpkg.image import build_image
    from tests.integration.test_imgpkg_copy import bundle_image, push

    mirror = registry_factory()
    dest = registry_factory()
    gone = "127.0.0.1:9"  # the source registry as named: nothing listens there
    w = _imgpkg_world(mirror.host)
    app = build_image({"app/main.txt": b"app\n"})
    push(w.client_for(mirror.host), "mirror/src/app", app, "v1")
    bundle = bundle_image([f"{gone}/src/app@{app.digest}"])
    push(w.client_for(mirror.host), "mirror/src/bundle", bundle, "bundle")
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nlocation = "{gone}/src"\ninsecure = true\n\n'
        f'[[registry.mirror]]\nlocation = "{mirror.host}/mirror/src"\ninsecure = true\n'
    )
    (tmp_path / "conf.d").mkdir()
    r = run_cli(
        "copy",
        f"{gone}/src/bundle:bundle",
        "--to-repo",
        f"{dest.host}/copied",
        "--registries-conf",
        str(conf),
        "--registries-conf-dir",
        str(tmp_path / "conf.d"),
        "--insecure-registry",
        dest.host,
        "--json",
        home=tmp_path,
    )
    assert r.code == 0, r.stderr
    assert r.json()["digest"] == bundle.digest


def test_creds_never_go_to_a_registry_named_by_a_catalog(
    registry_factory: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    """``pull --from-catalog``: the bundle images' registries come from the catalog's content, so
    whoever wrote the catalog would choose where ``--creds`` goes; like an imgpkg images.yml, they
    get only what the auth files hold for them."""
    from regfix.catalogs import bundle_catalog
    from regfix.push import http_push

    other = fault_proxy(registry_factory(htpasswd={"alice": PW}))
    gen, built = bundle_catalog(other.host, tmp_path / "layouts", packages=1, per_package=1, prefix="cat")
    for key, layout in built.layouts.items():
        http_push(layout, other.url, built.repository[key], "v" + key[1], auth=("alice", PW))
    catalog = gen.write(tmp_path / "catalog")
    other.reset()
    r = run_cli(
        "pull", "--from-catalog", str(catalog), "-o", str(tmp_path / "out"),
        "--creds", f"alice:{PW}", "--insecure-registry", other.host, "--no-cache",
        home=tmp_path,
    )  # fmt: skip
    assert other.requests, "the bundle's registry was never asked"
    assert [(q.method, q.path) for q in other.requests if "Authorization" in q.headers] == []
    assert r.code != 0, r.stdout  # it wants credentials we were not told to give it
    assert PW not in r.stdout + r.stderr


def _pull_through_mirror(home: Path, primary: str, mirror: str) -> Run:
    """``pull --creds`` of ``PRIMARY/team/bundle:v1`` with a registries.conf whose only mirror for
    ``PRIMARY/team`` is ``MIRROR/mirror``."""
    conf = home / "registries.conf"
    conf.write_text(
        f'[[registry]]\nlocation = "{primary}/team"\ninsecure = true\n\n'
        f'[[registry.mirror]]\nlocation = "{mirror}/mirror"\ninsecure = true\n'
    )
    (home / "conf.d").mkdir()
    return _pull(
        home,
        f"{primary}/team/bundle:v1",
        primary,
        "--creds",
        f"alice:{PW}",
        "--registries-conf",
        str(conf),
        "--registries-conf-dir",
        str(home / "conf.d"),
        "--no-cache",
        "-v",
    )


def test_creds_do_not_go_to_a_mirror_on_another_registry(
    registry_factory: Callable[..., Any],
    push_image: Callable[..., PushedImage],
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """containers/image (``docker_image_src.go``, ``newImageSourceAttempt``) drops the credentials
    meant for the primary when it tries a mirror on another domain: the mirror is asked without
    them, refuses, and the primary serves the pull with them."""
    primary = registry_factory(htpasswd={"alice": PW})
    push_image(primary, SMALL, "team/bundle", creds=("alice", PW))
    mirror_registry = registry_factory(htpasswd={"alice": PW})
    push_image(mirror_registry, SMALL, "mirror/bundle", creds=("alice", PW))
    mirror = fault_proxy(mirror_registry)
    r = _pull_through_mirror(tmp_path, primary.host, mirror.host)
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "manifests").is_dir()
    assert mirror.requests, "the mirror was never asked"
    assert [(q.method, q.path) for q in mirror.requests if "Authorization" in q.headers] == []
    assert PW not in r.stdout + r.stderr


def test_creds_go_to_a_mirror_on_the_same_registry(
    registry_factory: Callable[..., Any], push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """A mirror on the primary's own registry is the host the user named: it gets ``--creds``
    (the primary's repository does not exist, so only the mirror can serve the pull)."""
    reg = registry_factory(htpasswd={"alice": PW})
    push_image(reg, SMALL, "mirror/bundle", creds=("alice", PW))
    r = _pull_through_mirror(tmp_path, reg.host, reg.host)
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "manifests").is_dir()

"""pytest fixtures backed by real docker-registry processes (loaded via `pytest_plugins = ["regfix.pytest_plugin"]`).

Session-scoped registries are started once and shared (fast path): use a unique repository name per test.
Factories start private instances that are stopped at the end of the test.
When docker-registry / skopeo / umoci is missing: pytest.fail with a clear message if CI=true, else skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from regfix import bundles
from regfix.faults import FaultProxy
from regfix.oci import ImageSpec, Layer, Layout, write_layout
from regfix.push import Pushed, push, skopeo_binary
from regfix.registry import Registry, registry_binary, start_registry
from regfix.tokenserver import TokenPolicy, TokenServer
from regfix.umoci import umoci_binary

HTPASSWD_USER = ("regfix", "regfix-pass")
TOKEN_USER = (
    "alice",
    "alice-secret",
)  # full access in the default TokenPolicy; bob is limited, anonymous: public/*


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(what: str, found: object, hint: str) -> None:
    if found:
        return
    msg = f"{what} not found: {hint}"
    if in_ci():
        pytest.fail(msg + " (CI=true: missing test dependencies are failures, not skips)", pytrace=False)
    pytest.skip(msg)


def _need_registry() -> None:
    require(
        "docker-registry", registry_binary(), "apt install docker-registry (or set REGFIX_DOCKER_REGISTRY)"
    )


def _need_skopeo() -> None:
    require("skopeo", skopeo_binary(), "apt install skopeo (or set REGFIX_SKOPEO)")


@pytest.fixture(scope="session", autouse=True)
def _stop_gpg_agents() -> Iterator[None]:
    """The gpg-agents the signing fixtures' gpg started end with the session."""
    yield
    from regfix import signing

    signing.stop_gpg_agents()


@pytest.fixture(scope="session")
def need_umoci() -> str:
    """Path of umoci (skips/fails like the registry fixtures when missing)."""
    found = umoci_binary()
    require("umoci", found, "apt install umoci (or set REGFIX_UMOCI)")
    return str(found)


@dataclass(frozen=True)
class PushedImage:
    """An image in a registry: `ref` is host/repo:tag, `digest_ref` host/repo@digest."""

    pushed: Pushed
    layout: Layout
    fixture: bundles.Fixture | None
    registry: Registry

    @property
    def ref(self) -> str:
        return self.pushed.ref

    @property
    def digest(self) -> str:
        return self.pushed.digest

    @property
    def digest_ref(self) -> str:
        return self.pushed.digest_ref

    @property
    def repository(self) -> str:
        return self.pushed.repository


# ------------------------------------------------------------------------------------ registries


def _session_registry(factory: pytest.TempPathFactory, name: str, **kw: Any) -> Iterator[Registry]:
    _need_registry()
    reg = start_registry(factory.mktemp(name), **kw)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Plain-HTTP docker-registry on 127.0.0.1 (no auth). `registry.host` is "127.0.0.1:PORT"."""
    yield from _session_registry(tmp_path_factory, "registry")


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """HTTPS registry; trust `tls_registry.ca_file` (trustme CA; cert valid for 127.0.0.1 and localhost)."""
    yield from _session_registry(tmp_path_factory, "tls-registry", tls=True)


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Plain-HTTP registry with htpasswd (bcrypt) auth; credentials in `.users` ({"regfix": "regfix-pass"})."""
    yield from _session_registry(tmp_path_factory, "htpasswd-registry", htpasswd=dict([HTPASSWD_USER]))


@pytest.fixture(scope="session")
def _token_registry_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    _need_registry()
    d = tmp_path_factory.mktemp("token-registry")
    with TokenServer(d / "token") as ts:
        yield from _session_registry(tmp_path_factory, "token-registry-data", token=ts)


@pytest.fixture
def token_registry(_token_registry_session: Registry) -> Registry:
    """Shared registry with `auth: token`; `.token_server` (TokenServer) is reset for each test: counters
    cleared, default TokenPolicy (alice/alice-secret: everything; bob/bob-secret: bob/* push+pull and
    private/* pull; anonymous: public/* pull) and expires_in=300 restored. Tests may change both."""
    ts = _token_registry_session.token_server
    assert ts is not None
    ts.reset()
    ts.policy = TokenPolicy()
    ts.expires_in = 300
    return _token_registry_session


@pytest.fixture
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Registry]]:
    """Start a private registry: registry_factory(**start_registry kwargs). Stopped after the test."""
    _need_registry()
    started: list[Registry] = []

    def make(**kw: Any) -> Registry:
        reg = start_registry(tmp_path_factory.mktemp("registry-f"), **kw)
        started.append(reg)
        return reg

    yield make
    for reg in reversed(started):
        reg.stop()


@pytest.fixture
def token_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., TokenServer]]:
    """token_server_factory(policy=TokenPolicy(...), expires_in=5, service=..., issuer=...) -> started TokenServer.
    Pair with registry_factory(token=server)."""
    started: list[TokenServer] = []

    def make(**kw: Any) -> TokenServer:
        ts = TokenServer(tmp_path_factory.mktemp("token-f"), **kw).start()
        started.append(ts)
        return ts

    yield make
    for ts in started:
        ts.stop()


@pytest.fixture
def proxy_registry(registry_factory: Callable[..., Registry]) -> Callable[..., Registry]:
    """proxy_registry(upstream: Registry, username=None, password=None) -> pull-through cache registry."""

    def make(upstream: Registry, username: str | None = None, password: str | None = None) -> Registry:
        env = {"SSL_CERT_FILE": str(upstream.ca_file)} if upstream.ca_file else None
        return registry_factory(
            proxy_remote=upstream.url, proxy_username=username, proxy_password=password, extra_env=env
        )

    return make


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[Registry | str], FaultProxy]]:
    """fault_proxy(upstream) -> started FaultProxy (plain HTTP at `.host`/`.url`); configure `.plan`."""
    started: list[FaultProxy] = []

    def make(upstream: Registry | str) -> FaultProxy:
        if isinstance(upstream, Registry):
            fp = FaultProxy(upstream.url, ca_file=upstream.ca_file)
        else:
            fp = FaultProxy(upstream)
        started.append(fp.start())
        return fp

    yield make
    for fp in started:
        fp.stop()


# ------------------------------------------------------------------------------------ images


@pytest.fixture
def oci_layout_factory(tmp_path: Path) -> Callable[..., Layout]:
    """oci_layout_factory(images: ImageSpec | list[ImageSpec] | list[Layer], tag="latest", name=None, index=None)
    -> Layout under tmp_path (same name = same layout dir, new tag)."""
    counter = iter(range(1_000_000))

    def make(
        images: ImageSpec | Sequence[ImageSpec] | Sequence[Layer],
        tag: str = "latest",
        name: str | None = None,
        index: bool | None = None,
    ) -> Layout:
        if isinstance(images, Sequence) and images and isinstance(images[0], Layer):
            images = ImageSpec(layers=list(images))  # type: ignore[arg-type]
        return write_layout(tmp_path / (name or f"layout-{next(counter)}"), images, tag, index=index)  # type: ignore[arg-type]

    return make


@pytest.fixture
def push_image(tmp_path: Path) -> Callable[..., PushedImage]:
    """push_image(registry, spec_or_fixture_or_layout, repository, tag="v1", creds=None) -> PushedImage."""
    _need_skopeo()
    counter = iter(range(1_000_000))

    def do(
        reg: Registry,
        what: ImageSpec | Sequence[ImageSpec] | bundles.Fixture | Layout,
        repository: str,
        tag: str = "v1",
        creds: tuple[str, str] | None = None,
    ) -> PushedImage:
        fixture = what if isinstance(what, bundles.Fixture) else None
        if isinstance(what, Layout):
            layout = what
        else:
            spec = what.spec if isinstance(what, bundles.Fixture) else what
            layout = write_layout(tmp_path / f"push-{next(counter)}", spec, tag)
        return PushedImage(push(layout, reg, repository, tag, creds=creds), layout, fixture, reg)

    return do


def _push_session(
    factory: pytest.TempPathFactory,
    reg: Registry,
    fixture: bundles.Fixture | ImageSpec | Sequence[ImageSpec],
    repository: str,
    tag: str,
    creds: tuple[str, str] | None = None,
) -> PushedImage:
    _need_skopeo()
    fx = fixture if isinstance(fixture, bundles.Fixture) else None
    spec = fixture.spec if isinstance(fixture, bundles.Fixture) else fixture
    layout = write_layout(factory.mktemp("layout"), spec, tag)
    return PushedImage(push(layout, reg, repository, tag, creds=creds), layout, fx, reg)


@pytest.fixture(scope="session")
def pushed_bundle(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    """registry+v1 bundle (bundles.registry_v1_bundle(), ~300 KB CRD) at
    <registry>/regfix/widget-operator-bundle:v1.4.2; `.fixture.files` is the expected content."""
    return _push_session(
        tmp_path_factory, registry, bundles.registry_v1_bundle(), "regfix/widget-operator-bundle", "v1.4.2"
    )


@pytest.fixture(scope="session")
def pushed_private_bundle(
    _token_registry_session: Registry, tmp_path_factory: pytest.TempPathFactory
) -> PushedImage:
    """The same bundle in the token registry at private/widget-operator-bundle:v1.4.2 (pull needs alice or bob)."""
    return _push_session(
        tmp_path_factory,
        _token_registry_session,
        bundles.registry_v1_bundle(),
        "private/widget-operator-bundle",
        "v1.4.2",
        creds=TOKEN_USER,
    )


@pytest.fixture(scope="session")
def pushed_fixtures(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PushedImage]:
    """Every fixture kind in the plain registry, keyed by name:
    "registry-v1", "mismatched-labels", "plain-v0", "fbc", "generic", "generic-zstd", "docker-media",
    "multi-arch" (index of generic amd64 + registry+v1 arm64/v8)."""
    out: dict[str, PushedImage] = {}
    items: dict[str, bundles.Fixture] = {
        "registry-v1": bundles.registry_v1_bundle(),
        "mismatched-labels": bundles.mismatched_labels_bundle(),
        "plain-v0": bundles.plain_v0_bundle(),
        "fbc": bundles.fbc_catalog(),
        "generic": bundles.generic_multilayer(),
        "generic-zstd": bundles.generic_multilayer(compression="zstd"),
        "docker-media": bundles.registry_v1_bundle(media="docker", large_crd=False),
    }
    for name, fx in items.items():
        out[name] = _push_session(tmp_path_factory, registry, fx, f"regfix/{name}", "v1")
    arm = bundles.registry_v1_bundle(large_crd=False)
    arm.spec.architecture, arm.spec.variant = "arm64", "v8"
    out["multi-arch"] = _push_session(
        tmp_path_factory, registry, [bundles.generic_multilayer().spec, arm.spec], "regfix/multi-arch", "v1"
    )
    return out

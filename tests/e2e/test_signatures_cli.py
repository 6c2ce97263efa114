"""``bundle-extract verify`` and ``pull --policy`` as users run them (signatures made by skopeo)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import Run

pytest.importorskip("regfix.pytest_plugin")
from regfix import signing  # noqa: E402
from regfix.oci import File, ImageSpec, Layer, write_layout  # noqa: E402
from regfix.push import skopeo_copy  # noqa: E402

pytestmark = [pytest.mark.registry, pytest.mark.oracle]


@dataclass
class Signed:
    host: str
    keys: signing.GPGKeys
    registries_d: Path
    accept: Path  # policy: signedBy the trusted key
    wrong: Path  # policy: signedBy another key
    signed: str  # reference of an image signed by the trusted key
    unsigned: str
    layers: list[str]  # layer digests of both images
    digest: str
    lookaside: Path


@pytest.fixture(scope="module")
def signed(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Signed:
    tmp = tmp_path_factory.mktemp("e2e-signatures")
    keys = signing.make_gpg_keys(tmp / "keys")
    rd = signing.write_registries_d(tmp / "registries.d", f"file://{tmp / 'lookaside'}")
    spec = ImageSpec(
        layers=[Layer([File("manifests/a.yaml", "kind: ConfigMap\n")])],
        labels={"operators.operatorframework.io.bundle.mediatype.v1": "plain"},
    )
    layout = write_layout(tmp / "layout", spec, "v1")
    digest = signing.skopeo_copy_signed(layout, registry.host, "e2esig/signed", "v1", keys, keys.trusted, rd)
    skopeo_copy(layout, registry.host, "e2esig/unsigned", "v1")
    policies = {}
    for name, key in (("accept", keys.trusted_pub), ("wrong", keys.other_pub)):
        policies[name] = tmp / f"{name}.json"
        policies[name].write_text(
            json.dumps({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(key)}]})
        )
    return Signed(
        registry.host,
        keys,
        rd,
        policies["accept"],
        policies["wrong"],
        f"{registry.host}/e2esig/signed:v1",
        f"{registry.host}/e2esig/unsigned:v1",
        [la.digest for la in layout.image.layers],
        digest,
        tmp / "lookaside",
    )


def run(cli: Callable[..., Run], s: Signed, *args: str) -> Run:
    return cli(*args, "--registries-d", str(s.registries_d), "--insecure-registry", s.host)


def test_verify_accepted(cli: Callable[..., Run], signed: Signed, registry: Any) -> None:
    before = len(registry.logs())
    r = run(cli, signed, "verify", signed.signed, "--policy", str(signed.accept))
    assert r.code == 0, r.stderr
    assert r.stdout.startswith(f"{signed.signed}: accepted by default")
    assert f"gpg signature by {signed.keys.trusted} for {signed.signed}" in r.stdout
    r = run(cli, signed, "verify", signed.signed, "--policy", str(signed.accept), "--json")
    doc = r.json()
    assert (doc["reference"], doc["digest"], doc["scope"], doc["verdict"]) == (
        signed.signed,
        signed.digest,
        "default",
        "accepted",
    )
    (sig,) = doc["signatures"]
    assert (sig["type"], sig["keyId"], sig["identity"], sig["valid"], sig["reason"]) == (
        "gpg",
        signed.keys.trusted,
        signed.signed,
        True,
        None,
    )
    log = registry.logs()[before:]
    assert "/e2esig/signed/manifests/v1" in log
    assert not [d for d in signed.layers if d in log], "verify fetched a layer"


@pytest.mark.parametrize(
    ("which", "policy", "reason"),
    [("signed", "wrong", "is not accepted"), ("unsigned", "accept", "no signature exists")],
)
def test_verify_refused_exit_8_one_line(
    cli: Callable[..., Run], signed: Signed, registry: Any, which: str, policy: str, reason: str
) -> None:
    ref = getattr(signed, which)
    before = len(registry.logs())
    r = run(cli, signed, "verify", ref, "--policy", str(getattr(signed, policy)), "--json")
    assert r.code == 8, r.stderr
    assert r.json()["verdict"] == "rejected" and reason in r.json()["reason"]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(
        f"bundle-extract: error: {ref}: refused by default, requirement signedBy (GPGKeys, keyPath "
    )
    assert reason in lines[0]
    assert not [d for d in signed.layers if d in registry.logs()[before:]]


def test_pull_policy_refuses_before_any_layer(
    cli: Callable[..., Run], signed: Signed, registry: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = len(registry.logs())
    r = run(cli, signed, "pull", signed.unsigned, "-o", str(out), "--policy", str(signed.accept))
    assert r.code == 8, r.stderr
    assert "no signature exists" in r.stderr and signed.unsigned in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert not [d for d in signed.layers if d in registry.logs()[before:]], "a refused pull fetched a layer"


def test_pull_policy_accepts(cli: Callable[..., Run], signed: Signed, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run(cli, signed, "pull", signed.signed, "-o", str(out), "--policy", str(signed.accept), "--no-cache")
    assert r.code == 0, r.stderr
    assert (out / "manifests" / "a.yaml").read_text() == "kind: ConfigMap\n"


def test_policy_default_from_home(cli: Callable[..., Run], signed: Signed, tmp_path: Path) -> None:
    home_policy = tmp_path / "home" / ".config" / "containers" / "policy.json"  # the cli fixture's HOME
    home_policy.parent.mkdir(parents=True)
    home_policy.write_text(signed.wrong.read_text())
    for extra in (["--policy", "default"], []):  # verify without --policy uses the default policy
        r = run(cli, signed, "verify", signed.signed, *extra)
        assert r.code == 8 and "is not accepted" in r.stderr, r.stderr
    home_policy.write_text(signed.accept.read_text())
    assert run(cli, signed, "verify", signed.signed).code == 0


def test_pull_without_policy_verifies_nothing(
    cli: Callable[..., Run], signed: Signed, registry: Any, tmp_path: Path
) -> None:
    """Without ``--policy`` a pull verifies nothing, even when the user's containers policy.json
    (which ``--policy default`` and ``verify`` read) would refuse the image: no signature is read."""
    home_policy = tmp_path / "home" / ".config" / "containers" / "policy.json"  # the cli fixture's HOME
    home_policy.parent.mkdir(parents=True)
    home_policy.write_text('{"default": [{"type": "reject"}]}')
    out = tmp_path / "out"
    before = len(registry.logs())
    r = cli("pull", signed.unsigned, "-o", str(out), "--insecure-registry", signed.host, "--no-cache")
    assert r.code == 0, r.stderr
    assert (out / "manifests" / "a.yaml").read_text() == "kind: ConfigMap\n"
    assert ".sig" not in "".join(registry.logs()[before:])
    r = cli(
        "pull",
        signed.unsigned,
        "-o",
        str(tmp_path / "out2"),
        "--insecure-registry",
        signed.host,
        "--policy",
        "default",
    )
    assert r.code == 8 and "rejects every image" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json {", "not valid JSON"),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/nonexistent/k.gpg"}]}',
            "cannot read key file /nonexistent/k.gpg",
        ),
        ('{"default": [{"type": "reject", "typo": true}]}', "unknown field 'typo'"),
    ],
)
def test_bad_policy_exit_2(
    cli: Callable[..., Run], signed: Signed, tmp_path: Path, text: str, message: str
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(text)
    out = tmp_path / "out"
    for args in (["verify", signed.signed], ["pull", signed.signed, "-o", str(out)]):
        r = run(cli, signed, *args, "--policy", str(policy))
        assert r.code == 2, r.stderr
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()


def test_registries_d_without_policy_is_a_usage_error(
    cli: Callable[..., Run], signed: Signed, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = run(cli, signed, "pull", signed.unsigned, "-o", str(out))
    assert r.code == 2 and "--registries-d has no effect without --policy" in r.stderr, r.stderr
    assert not out.exists()


# ------------------------------------------------------------------- render, catalog, pull --from-catalog


@dataclass
class SignedCatalog:
    catalog_dir: Path
    catalog_image: str
    signed: list[str]  # bundle references (by digest)
    unsigned: str
    unsigned_layers: list[str]
    policy: Path  # signedBy trusted for bundles; the catalog image's repository accepted as is


@pytest.fixture(scope="module")
def signed_catalog(registry: Any, signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> SignedCatalog:
    from regfix.catalogs import bundle_catalog, push_bundle_images

    tmp = tmp_path_factory.mktemp("signed-catalog")
    gen, built = bundle_catalog(registry.host, tmp / "layouts", packages=2, per_package=2, prefix="sigcat")
    push_bundle_images(registry, built)
    keys = sorted(built.layouts)
    refs = {k: f"{registry.host}/{built.repository[k]}@{built.layouts[k].digest}" for k in keys}
    lookaside = signed.lookaside  # the store the registries.d names
    for k in keys[:-1]:
        layout = built.layouts[k]
        sig = signing.skopeo_standalone_sign(
            layout.image.manifest,
            f"{registry.host}/{built.repository[k]}:v{k[1]}",
            signed.keys,
            signed.keys.trusted,
        )
        signing.put_lookaside(lookaside, built.repository[k], layout.digest, [sig])
    catalog_layout = write_layout(tmp / "catalog-layout", gen.image_spec(), "v1")
    skopeo_copy(catalog_layout, registry.host, "sigcat/index", "v1")
    policy = tmp / "catalog-policy.json"
    policy.write_text(
        json.dumps(
            {
                "default": [
                    {"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(signed.keys.trusted_pub)}
                ],
                "transports": {
                    "docker": {f"{registry.host}/sigcat/index": [{"type": "insecureAcceptAnything"}]}
                },
            }
        )
    )
    unsigned = keys[-1]
    return SignedCatalog(
        gen.write(tmp / "catalog"),
        f"{registry.host}/sigcat/index:v1",
        [refs[k] for k in keys[:-1]],
        refs[unsigned],
        sorted(
            {la.digest for la in built.layouts[unsigned].image.layers}
            - {la.digest for k in keys[:-1] for la in built.layouts[k].image.layers}
        ),  # layers only the refused bundle has
        policy,
    )


def test_render_judges_each_image(
    cli: Callable[..., Run], signed: Signed, signed_catalog: SignedCatalog
) -> None:
    sc = signed_catalog
    r = run(cli, signed, "render", sc.signed[0], "--policy", str(sc.policy))
    assert r.code == 0, r.stderr
    assert f'"image": "{sc.signed[0]}"' in r.stdout  # opm's olm.bundle object names its image
    r = run(cli, signed, "render", sc.signed[0], sc.unsigned, "--policy", str(sc.policy))
    assert r.code == 8, r.stderr
    assert "no signature exists" in r.stderr and r.stdout == ""


def test_catalog_commands_judge_the_catalog_image(
    cli: Callable[..., Run], signed: Signed, signed_catalog: SignedCatalog
) -> None:
    sc = signed_catalog
    r = run(cli, signed, "catalog", "packages", sc.catalog_image, "--policy", str(sc.policy))
    assert r.code == 0, r.stderr  # its repository's scope accepts it as it is
    r = run(cli, signed, "catalog", "packages", sc.catalog_image, "--policy", str(signed.accept))
    assert r.code == 8 and sc.catalog_image in r.stderr, r.stderr


def test_pull_from_catalog_judges_each_bundle(
    cli: Callable[..., Run], signed: Signed, signed_catalog: SignedCatalog, registry: Any, tmp_path: Path
) -> None:
    sc = signed_catalog
    out = tmp_path / "bundles"
    before = len(registry.logs())
    r = run(
        cli,
        signed,
        "pull",
        "--from-catalog",
        str(sc.catalog_dir),
        "-o",
        str(out),
        "--policy",
        str(sc.policy),
        "--json",
    )
    assert r.code == 8, r.stderr
    assert "no signature exists" in r.stderr
    pulled = sorted(p.parent.name + "/" + p.name for p in out.glob("*/*") if p.is_dir())
    assert len(pulled) == len(sc.signed), (pulled, r.stdout)
    log = registry.logs()[before:]
    assert sc.unsigned_layers and not [d for d in sc.unsigned_layers if d in log], "a refused bundle's layer"

"""registries.conf + ICSP/IDMS/ITMS together: precedence, merge order, rules, the mirrors --json document."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors import MirrorSettings, Source, load_mirror_config, mirrors_json
from imgextract.reference import parse_reference
from tests.unit.mirrors.helpers import DIGEST

REGISTRIES_CONF = """\
[[registry]]
prefix = "docker.io/library"
location = "docker.io/library"
[[registry.mirror]]
location = "mirror.local/library"

[[registry]]
location = "quay.io/ns"
insecure = true
mirror-by-digest-only = true
[[registry.mirror]]
location = "old-mirror.local/ns"

[[registry]]
location = "quay.io/ns/private"
blocked = true
"""

IDMS = """\
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata: {name: my-idms}
spec:
  imageDigestMirrors:
  - source: quay.io/ns
    mirrors: [a.local/ns, b.local/ns]
  - source: registry.redhat.io
    mirrors: [mirror.local/rh]
    mirrorSourcePolicy: NeverContactSource
"""

ICSP = """\
apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata: {name: my-icsp}
spec:
  repositoryDigestMirrors:
  - source: quay.io/ns
    mirrors: [c.local/ns, a.local/ns]
"""

ITMS = """\
apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata: {name: my-itms}
spec:
  imageTagMirrors:
  - source: quay.io/ns
    mirrors: [tags.local/ns]
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (
        ("registries.conf", REGISTRIES_CONF),
        ("idms.yaml", IDMS),
        ("icsp.yaml", ICSP),
        ("itms.yaml", ITMS),
    ):
        out[name] = tmp_path / name
        out[name].write_text(text)
    out["dir"] = tmp_path / "absent.d"
    return out


def _settings(files: dict[str, Path], **kw: object) -> MirrorSettings:
    base: dict[str, object] = {
        "icsp_files": [files["icsp.yaml"]],
        "idms_files": [files["idms.yaml"]],
        "itms_files": [files["itms.yaml"]],
        "registries_conf": files["registries.conf"],
        "registries_conf_dir": files["dir"],
        "env": {},
    }
    base.update(kw)
    return MirrorSettings(**base)  # type: ignore[arg-type]


def _view(sources: list[Source]) -> list[tuple[str, bool, bool]]:
    return [(str(s.reference), s.insecure, s.blocked) for s in sources]


def test_policy_mirrors_replace_registries_conf_mirrors_for_the_same_scope(files: dict[str, Path]) -> None:
    config = load_mirror_config(_settings(files))
    # ICSP (c, a) and IDMS (a, b) merge to c, a, b; old-mirror.local is gone; the entry keeps insecure=true.
    assert _view(config.pull_sources(parse_reference("quay.io/ns/app@" + DIGEST))) == [
        ("c.local/ns/app@" + DIGEST, False, False),
        ("a.local/ns/app@" + DIGEST, False, False),
        ("b.local/ns/app@" + DIGEST, False, False),
        ("quay.io/ns/app@" + DIGEST, True, False),
    ]
    assert _view(config.pull_sources(parse_reference("quay.io/ns/app:1"))) == [
        ("tags.local/ns/app:1", False, False),
        ("quay.io/ns/app:1", True, False),
    ]


def test_nested_registries_conf_entry_inherits_policy_mirrors(files: dict[str, Path]) -> None:
    config = load_mirror_config(_settings(files))
    sources = config.pull_sources(parse_reference("quay.io/ns/private/x:1"))
    assert _view(sources) == [
        ("tags.local/ns/private/x:1", False, False),
        ("quay.io/ns/private/x:1", False, True),
    ]
    assert sources[0].rule == (
        f"nested scope quay.io/ns/private inherits from ITMS my-itms (file {files['itms.yaml']}): "
        "source=quay.io/ns, mirror 1"
    )
    assert (
        sources[1].rule
        == f"primary; blocked by registries.conf {files['registries.conf']}: [[registry]] prefix=quay.io/ns/private"
    )


def test_never_contact_source(files: dict[str, Path]) -> None:
    config = load_mirror_config(_settings(files))
    by_digest = config.pull_sources(parse_reference("registry.redhat.io/ubi8/ubi@" + DIGEST))
    assert _view(by_digest) == [
        ("mirror.local/rh/ubi8/ubi@" + DIGEST, False, False),
        ("registry.redhat.io/ubi8/ubi@" + DIGEST, False, True),
    ]
    assert by_digest[1].rule == (
        f"primary; blocked by IDMS my-idms (file {files['idms.yaml']}): "
        "source=registry.redhat.io, mirrorSourcePolicy=NeverContactSource"
    )
    # digest-only mirrors and a blocked source: a tag pull has nothing left to try
    assert [s.blocked for s in config.pull_sources(parse_reference("registry.redhat.io/ubi8/ubi:8"))] == [
        True
    ]


def test_mirrors_json_document(files: dict[str, Path]) -> None:
    config = load_mirror_config(_settings(files))
    assert mirrors_json(config, parse_reference("busybox")) == {
        "reference": "docker.io/library/busybox:latest",
        "sources": [
            {
                "reference": "mirror.local/library/busybox:latest",
                "insecure": False,
                "blocked": False,
                "rule": f"registries.conf {files['registries.conf']}: [[registry]] prefix=docker.io/library, mirror 1",
            },
            {
                "reference": "docker.io/library/busybox:latest",
                "insecure": False,
                "blocked": False,
                "rule": "primary",
            },
        ],
    }
    doc = mirrors_json(config, parse_reference("quay.io/ns/app@" + DIGEST))
    assert doc["sources"][1]["rule"] == (
        f"ICSP my-icsp (file {files['icsp.yaml']}): source=quay.io/ns, mirror 2; "
        f"IDMS my-idms (file {files['idms.yaml']}): source=quay.io/ns, mirror 1"
    )


def test_rule_names_a_rewriting_primary(tmp_path: Path) -> None:
    conf = tmp_path / "r.conf"
    conf.write_text('[[registry]]\nprefix = "example.com/foo"\nlocation = "internal.example.com/bar"\n')
    config = load_mirror_config(
        MirrorSettings(registries_conf=conf, registries_conf_dir=tmp_path / "none", env={})
    )
    (source,) = config.pull_sources(parse_reference("example.com/foo/image"))
    assert str(source.reference) == "internal.example.com/bar/image:latest"
    assert source.rule == f"primary, rewritten by registries.conf {conf}: [[registry]] prefix=example.com/foo"


def test_policy_merge_order_does_not_depend_on_file_order(files: dict[str, Path]) -> None:
    a = load_mirror_config(_settings(files))
    b = load_mirror_config(_settings(files, icsp_files=[], idms_files=[files["idms.yaml"]]))
    ref = parse_reference("quay.io/ns/app@" + DIGEST)
    assert [str(s.reference.registry) for s in a.pull_sources(ref)] == [
        "c.local",
        "a.local",
        "b.local",
        "quay.io",
    ]
    assert [str(s.reference.registry) for s in b.pull_sources(ref)] == ["a.local", "b.local", "quay.io"]


def test_wildcard_idms_source(tmp_path: Path) -> None:
    idms = tmp_path / "w.yaml"
    idms.write_text(
        "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: w}\n"
        "spec:\n  imageDigestMirrors:\n  - source: '*.redhat.io'\n    mirrors: [mirror.local/redhat]\n"
    )
    # no registries.conf at all (the default file is absent): the policy alone decides
    config = load_mirror_config(
        MirrorSettings(
            idms_files=(idms,),
            registries_conf_dir=tmp_path / "none",
            system_registries_conf=tmp_path / "absent.conf",
            env={"HOME": str(tmp_path)},
        )
    )
    assert [
        str(s.reference)
        for s in config.pull_sources(parse_reference("registry.redhat.io/product/repo@" + DIGEST))
    ] == ["mirror.local/redhat/product/repo@" + DIGEST, "registry.redhat.io/product/repo@" + DIGEST]


def test_missing_explicit_registries_conf_with_policies(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_mirror_config(MirrorSettings(registries_conf=tmp_path / "absent.conf", env={}))


def test_wildcard_policy_with_nested_registries_conf_entry_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "r.conf"
    conf.write_text('[[registry]]\nlocation = "registry.redhat.io"\ninsecure = true\n')
    idms = tmp_path / "w.yaml"
    idms.write_text(
        "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: w}\n"
        "spec:\n  imageDigestMirrors:\n  - source: '*.redhat.io'\n    mirrors: [mirror.local/redhat]\n"
    )
    with pytest.raises(ConfigError, match="wildcard scope"):
        load_mirror_config(
            MirrorSettings(
                idms_files=(idms,), registries_conf=conf, registries_conf_dir=tmp_path / "d", env={}
            )
        )

"""Table-driven edge cases of prefix matching and pull-source order (beyond the vectors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_loader import ConfPaths, load_registries_conf
from imgextract.mirrors.config import MirrorConfig
from imgextract.mirrors.matching import ref_matching_prefix
from imgextract.reference import parse_reference
from tests.unit.mirrors.helpers import DIGEST


def _config(tmp_path: Path, toml: str) -> MirrorConfig:
    conf = tmp_path / "registries.conf"
    conf.write_text(toml)
    loaded = load_registries_conf(ConfPaths(conf, True, (tmp_path / "absent.d",)))
    return MirrorConfig(loaded.registries, conf=loaded)


def _refs(config: MirrorConfig, ref: str) -> list[str]:
    return [str(s.reference) for s in config.pull_sources(parse_reference(ref))]


@pytest.mark.parametrize(
    ("name", "prefix", "length"),
    [
        # docker.io/library: Hub official images only, after normalisation
        ("docker.io/library/busybox", "docker.io/library", 17),
        ("docker.io/libraryx/busybox", "docker.io/library", -1),
        ("docker.io/bitnami/nginx", "docker.io/library", -1),
        # wildcard vs bare host
        ("sub.example.com/app", "*.example.com", 15),
        ("a.b.example.com/app", "*.example.com", 15),
        ("example.com/app", "*.example.com", -1),
        ("badexample.com/app", "*.example.com", -1),
        ("sub.example.com:5000/app", "*.example.com", 15),  # port stays after the match (upstream)
        ("registry.io/sub.example.com/app", "*.example.com", -1),  # never in the path
        # example.com vs example.com:5000 (upstream quirk: a bare host also matches host:port)
        ("example.com:5000/app", "example.com", 11),
        ("example.com/app", "example.com:5000", -1),
        ("example.com:5000/app", "example.com:5000", 16),
        ("example.com:50000/app", "example.com:5000", -1),
        # registry.io/foo vs registry.io/foobar: whole path components only
        ("registry.io/foo/app", "registry.io/foo", 15),
        ("registry.io/foobar/app", "registry.io/foo", -1),
        ("registry.io/foo", "registry.io/foo", 15),
        ("registry.io/foo@" + DIGEST, "registry.io/foo", 15),
        ("registry.io/foo:tag", "registry.io/foo", 15),
    ],
)
def test_prefix_matching_table(name: str, prefix: str, length: int) -> None:
    assert ref_matching_prefix(name, prefix) == length


MIXED = """
[[registry]]
location = "docker.io/library"
[[registry.mirror]]
location = "hub-mirror.local/library"

[[registry]]
prefix = "*.example.com"
location = ""
[[registry.mirror]]
location = "wild.local/any"

[[registry]]
location = "example.com"
[[registry.mirror]]
location = "bare.local/ex"

[[registry]]
location = "registry.io/foo"
[[registry.mirror]]
location = "foo.local/foo"
"""


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", ["hub-mirror.local/library/busybox:latest", "docker.io/library/busybox:latest"]),
        (
            "docker.io/library/busybox:1",
            ["hub-mirror.local/library/busybox:1", "docker.io/library/busybox:1"],
        ),
        ("bitnami/nginx", ["docker.io/bitnami/nginx:latest"]),
        ("sub.example.com/app", ["wild.local/any/app:latest", "sub.example.com/app:latest"]),
        ("example.com/app", ["bare.local/ex/app:latest", "example.com/app:latest"]),
        ("registry.io/foo/app@" + DIGEST, ["foo.local/foo/app@" + DIGEST, "registry.io/foo/app@" + DIGEST]),
        ("registry.io/foobar/app", ["registry.io/foobar/app:latest"]),
        ("quay.io/x/y:1", ["quay.io/x/y:1"]),
    ],
)
def test_pull_sources_table(tmp_path: Path, ref: str, expected: list[str]) -> None:
    assert _refs(_config(tmp_path, MIXED), ref) == expected


def test_mirror_rewrite_that_keeps_a_port_is_refused(tmp_path: Path) -> None:
    # example.com also matches example.com:5000 (upstream); rewriting to bare.local/ex:5000/app is no
    # valid reference, so, like containers/image, the lookup fails rather than invent an endpoint.
    with pytest.raises(ConfigError, match="bare.local/ex:5000/app"):
        _refs(_config(tmp_path, MIXED), "example.com:5000/app")


def test_bare_host_entry_catches_host_with_port_like_upstream(tmp_path: Path) -> None:
    config = _config(tmp_path, '[[registry]]\nlocation = "example.com"\ninsecure = true\n')
    (source,) = config.pull_sources(parse_reference("example.com:5000/app:1"))
    assert str(source.reference) == "example.com:5000/app:1"
    assert source.insecure  # the entry for example.com applies to example.com:5000 too (documented quirk)


def test_longest_prefix_wins_without_inheritance(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
[[registry]]
location = "quay.io"
blocked = true
[[registry.mirror]]
location = "m.local/quay"

[[registry]]
location = "quay.io/ns"
""",
    )
    # quay.io/ns is more specific: none of quay.io's settings (mirrors, blocked) are inherited.
    sources = config.pull_sources(parse_reference("quay.io/ns/app:1"))
    assert [(str(s.reference), s.blocked) for s in sources] == [("quay.io/ns/app:1", False)]
    sources = config.pull_sources(parse_reference("quay.io/other/app:1"))
    assert [(str(s.reference), s.blocked) for s in sources] == [
        ("m.local/quay/other/app:1", False),
        ("quay.io/other/app:1", True),
    ]


@pytest.mark.parametrize(
    ("mirror_settings", "digest_order", "tag_order"),
    [
        ("mirror-by-digest-only = true\n", ["m1", "m2", "primary"], ["primary"]),
        ("", ["m1", "m2", "primary"], ["m1", "m2", "primary"]),
    ],
)
def test_mirror_by_digest_only(
    tmp_path: Path, mirror_settings: str, digest_order: list[str], tag_order: list[str]
) -> None:
    config = _config(
        tmp_path,
        f"""
[[registry]]
location = "primary.io/ns"
{mirror_settings}
[[registry.mirror]]
location = "m1.io/ns"
[[registry.mirror]]
location = "m2.io/ns"
""",
    )
    short = {"m1.io": "m1", "m2.io": "m2", "primary.io": "primary"}
    by_digest = config.pull_sources(parse_reference("primary.io/ns/app@" + DIGEST))
    by_tag = config.pull_sources(parse_reference("primary.io/ns/app:v1"))
    assert [short[s.reference.registry] for s in by_digest] == digest_order
    assert [short[s.reference.registry] for s in by_tag] == tag_order


def test_tag_and_digest_reference_pulls_by_digest(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        '[[registry]]\nlocation = "q.io"\n[[registry.mirror]]\nlocation = "m.io"\n'
        'pull-from-mirror = "digest-only"\n',
    )
    assert _refs(config, "q.io/a:1@" + DIGEST) == ["m.io/a@" + DIGEST, "q.io/a@" + DIGEST]

"""The selection rule of catalogs-render.md ("catalog"), as oc-mirror v2 applies it: no package -> every
bundle; ``--package`` -> the heads of its channels; a version range -> the bundles of the range;
``--all-bundles`` (oc-mirror's ``full: true``) -> every bundle; ``--heads-only`` -> the heads.

Run as users run it (a subprocess) against a generated catalog; the expected heads are computed here
from the olm.channel entries the generator wrote, not by the product's graph code, and the library
answers the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from regfix.catalogs import GenPackage, generate, vkey

from imgextract.catalog import Catalog
from tests.e2e.cli import Run

GEN = generate(40, seed=23)


@pytest.fixture(scope="module")
def fbc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return GEN.write(tmp_path_factory.mktemp("fbc-heads") / "configs")


def _in_skip_range(version: str, skip_range: str) -> bool:
    """The generator's skipRange forms: ``>=A <B`` and ``<B``."""
    for op, bound in re.findall(r"(>=|<)(\S+)", skip_range):
        if op == ">=" and not vkey(version) >= vkey(bound):
            return False
        if op == "<" and not vkey(version) < vkey(bound):
            return False
    return True


def channel_heads(pkg: GenPackage, channel: str) -> set[str]:
    """Heads from the written olm.channel document: entries no other entry replaces or skips; of several,
    those no other candidate's skipRange covers."""
    [doc] = [d for d in GEN.documents(pkg) if d["schema"] == "olm.channel" and d["name"] == channel]
    entries: list[dict[str, object]] = doc["entries"]
    pointed = {e["replaces"] for e in entries if "replaces" in e}
    for e in entries:
        pointed |= set(e.get("skips", []))  # type: ignore[call-overload]
    candidates = [e for e in entries if e["name"] not in pointed]
    if len(candidates) > 1:
        version = {name: b.version for name, b in pkg.bundles.items()}
        candidates = [
            c
            for c in candidates
            if not any(
                o is not c
                and "skipRange" in o
                and _in_skip_range(version[str(c["name"])], str(o["skipRange"]))
                for o in candidates
            )
        ]
    return {str(c["name"]) for c in candidates}


def package_heads(pkg: GenPackage, channels: tuple[str, ...] = ()) -> set[str]:
    return set().union(*(channel_heads(pkg, c) for c in pkg.channels if not channels or c in channels))


def _names(r: Run) -> set[str]:
    assert r.code == 0, r.stderr
    return {b["name"] for b in r.json()}


# packages with channels whose heads differ from their member lists (so heads != every bundle)
MULTI = [p for p in GEN.packages.values() if len(p.bundles) > len(package_heads(p))][:4]


def test_the_generated_catalog_has_packages_to_tell_heads_from_every_bundle() -> None:
    assert len(MULTI) == 4
    for pkg in MULTI:  # the independent computation agrees with the generator's ground truth
        assert package_heads(pkg) == {ch.head for ch in pkg.channels.values()}


@pytest.mark.parametrize("pkg", MULTI, ids=lambda p: p.name)
def test_a_named_package_selects_the_heads_of_its_channels(
    cli: Callable[..., Run], fbc_dir: Path, pkg: GenPackage
) -> None:
    r = cli("catalog", "bundles", str(fbc_dir), "--package", pkg.name, "--json")
    assert _names(r) == package_heads(pkg)
    library = Catalog.from_directory(fbc_dir).filter(packages=[pkg.name])
    assert r.json() == [b.to_json() for b in library.bundles()]
    # --heads-only says the same explicitly
    assert (
        cli("catalog", "bundles", str(fbc_dir), "--package", pkg.name, "--heads-only", "--json").json()
        == r.json()
    )


@pytest.mark.parametrize("pkg", MULTI, ids=lambda p: p.name)
def test_all_bundles_selects_every_bundle_of_a_named_package(
    cli: Callable[..., Run], fbc_dir: Path, pkg: GenPackage
) -> None:
    r = cli("catalog", "bundles", str(fbc_dir), "--package", pkg.name, "--all-bundles", "--json")
    assert _names(r) == set(pkg.bundles)
    library = Catalog.from_directory(fbc_dir).filter(packages=[pkg.name], heads_only=False)
    assert r.json() == [b.to_json() for b in library.bundles()]


def test_a_channel_restricts_the_heads_to_its_channels(cli: Callable[..., Run], fbc_dir: Path) -> None:
    pkg = next(p for p in MULTI if len(p.channels) >= 2)
    chosen = sorted(pkg.channels)[:1]
    r = cli("catalog", "bundles", str(fbc_dir), "--package", pkg.name, "--channel", chosen[0], "--json")
    assert _names(r) == package_heads(pkg, tuple(chosen))
    library = Catalog.from_directory(fbc_dir).filter(packages=[pkg.name], channels=chosen)
    assert r.json() == [b.to_json() for b in library.bundles()]


def test_a_version_range_selects_the_range_not_the_heads(cli: Callable[..., Run], fbc_dir: Path) -> None:
    pkg = next(p for p in MULTI if len(p.channels[p.default_channel].members) >= 3)
    below_head = pkg.channels[pkg.default_channel].members[-2]
    low = pkg.bundles[below_head].version
    r = cli("catalog", "bundles", str(fbc_dir), "--package", pkg.name, "--min-version", low, "--json")
    got = _names(r)
    assert below_head in got  # not a head: the range, not the heads, was selected
    same = cli(
        "catalog",
        "bundles",
        str(fbc_dir),
        "--package",
        pkg.name,
        "--min-version",
        low,
        "--all-bundles",
        "--json",
    )
    assert same.json() == r.json()
    library = Catalog.from_directory(fbc_dir).filter(packages=[pkg.name], min_version=low)
    assert r.json() == [b.to_json() for b in library.bundles()]
    assert (
        library.bundles()
        == Catalog.from_directory(fbc_dir)
        .filter(packages=[pkg.name], min_version=low, heads_only=False)
        .bundles()
    )


def test_no_package_selects_every_bundle(cli: Callable[..., Run], fbc_dir: Path) -> None:
    everything = {b.name for b in GEN.bundles()}
    assert _names(cli("catalog", "bundles", str(fbc_dir), "--json")) == everything
    assert _names(cli("catalog", "bundles", str(fbc_dir), "--all-bundles", "--json")) == everything
    assert {b.name for b in Catalog.from_directory(fbc_dir).filter().bundles()} == everything
    # --heads-only still selects the heads without a package
    heads = set().union(*(package_heads(p) for p in GEN.packages.values()))
    assert _names(cli("catalog", "bundles", str(fbc_dir), "--heads-only", "--json")) == heads


@pytest.mark.parametrize(
    "argv",
    [
        ("catalog", "bundles", "{dir}"),
        ("pull", "--from-catalog", "{dir}", "-o", "{out}"),
        ("job", "--from-catalog", "{dir}", "--shards", "2", "--namespace", "n", "--image", "i:1"),
    ],
    ids=["catalog", "pull", "job"],
)
def test_heads_only_with_all_bundles_is_a_usage_error(
    cli: Callable[..., Run], fbc_dir: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    args = [a.format(dir=fbc_dir, out=tmp_path / "out") for a in argv]
    r = cli(*args, "--package", MULTI[0].name, "--heads-only", "--all-bundles")
    assert r.code == 2 and r.stdout == ""
    assert (
        r.stderr
        == "bundle-extract: error: --heads-only and --all-bundles contradict each other: give one of them\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "resolved"),
    [
        (("--package", "etcd"), "--heads-only"),
        (("--package", "etcd", "--all-bundles"), "--all-bundles"),
        (("--package", "etcd", "--min-version", "1.0.0"), "--all-bundles"),
        ((), "--all-bundles"),
        (("--heads-only",), "--heads-only"),
    ],
)
def test_the_indexed_job_passes_the_resolved_choice_to_its_pods(
    cli: Callable[..., Run], flags: tuple[str, ...], resolved: str
) -> None:
    r = cli(
        "job", "--from-catalog", "registry.example.com/ns/catalog:v1", "--shards", "3", "--namespace", "n",
        "--image", "i:1", *flags,
    )  # fmt: skip
    assert r.code == 0, r.stderr
    [job] = list(yaml.safe_load_all(r.stdout))
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-1] == resolved
    assert ("--heads-only" in args) != ("--all-bundles" in args)

"""Misuse of the catalog API is an ``imgextract.UsageError`` like every other bad argument: a
pipeline catches one base class.  Filtering twice stays a ValueError too (what it raised before);
an impossible shard is refused instead of selecting nothing (or dividing by zero)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import imgextract

CATALOG = (
    "---\nschema: olm.package\nname: etcd\ndefaultChannel: stable\n"
    "---\nschema: olm.channel\npackage: etcd\nname: stable\nentries:\n- name: etcd.v1.0.0\n"
    "---\nschema: olm.bundle\npackage: etcd\nname: etcd.v1.0.0\nimage: example.test/etcd@sha256:"
    + "0" * 64
    + "\nproperties:\n- type: olm.package\n  value: {packageName: etcd, version: 1.0.0}\n"
)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    (tmp_path / "catalog" / "etcd").mkdir(parents=True)
    (tmp_path / "catalog" / "etcd" / "catalog.yaml").write_text(CATALOG)
    return tmp_path / "catalog"


def test_filtering_a_filtered_catalog_is_a_usage_error(catalog_dir: Path) -> None:
    filtered = imgextract.Catalog.open(catalog_dir).filter(packages=["etcd"])
    with pytest.raises(imgextract.UsageError, match="filters do not compose") as caught:
        filtered.filter(heads_only=True)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("shard", [(1, 1), (2, 2), (-1, 3), (0, 0), (0, -2)])
def test_an_impossible_shard_is_a_usage_error(
    catalog_dir: Path, tmp_path: Path, shard: tuple[int, int]
) -> None:
    cat = imgextract.Catalog.open(catalog_dir)
    with pytest.raises(imgextract.UsageError, match="shard"):
        cat.shard(*shard)
    with pytest.raises(imgextract.UsageError, match="shard"):
        imgextract.pull_catalog(catalog_dir, tmp_path / "out", shard=shard, env={"HOME": str(tmp_path)})
    assert not (tmp_path / "out").exists()


def test_every_shard_of_a_valid_count_is_accepted(catalog_dir: Path) -> None:
    cat = imgextract.Catalog.open(catalog_dir)
    assert [b.name for i in range(3) for b in cat.shard(i, 3)] == ["etcd.v1.0.0"]


def test_the_one_shot_catalog_pull_takes_an_opened_catalog(tmp_path: Path) -> None:
    """``imgextract.pull_catalog(catalog, out)`` with a Catalog opened and filtered before, as
    ``Client.pull_catalog`` takes it (the bundle image here is unreachable: its outcome says so)."""
    root = tmp_path / "catalog" / "etcd"
    root.mkdir(parents=True)
    (root / "catalog.yaml").write_text(CATALOG.replace("example.test/etcd", "127.0.0.1:1/etcd"))
    selected = imgextract.Catalog.open(tmp_path / "catalog").filter(packages=["etcd"])
    result = imgextract.pull_catalog(selected, tmp_path / "out", retries=0, env={"HOME": str(tmp_path)})
    assert [o.bundle.name for o in result.outcomes] == ["etcd.v1.0.0"]
    assert result.failed == 1 and isinstance(result.outcomes[0].error, imgextract.UnreachableError)


def test_a_failing_callback_leaves_no_bundle_pull_running(tmp_path: Path) -> None:
    """An exception from ``on_done`` (a bug in the pipeline's callback) propagates, and by then
    no bundle pull runs on in the background: bundles not started are cancelled, those in flight
    are waited for (only Ctrl-C leaves them to finish on their own, so that the process exits)."""
    root = tmp_path / "catalog" / "etcd"
    root.mkdir(parents=True)
    entries = "".join(f"- name: etcd.v1.0.{i}\n" for i in range(6))
    docs = "---\nschema: olm.package\nname: etcd\ndefaultChannel: stable\n"
    docs += f"---\nschema: olm.channel\npackage: etcd\nname: stable\nentries:\n{entries}"
    for i in range(6):
        docs += (
            f"---\nschema: olm.bundle\npackage: etcd\nname: etcd.v1.0.{i}\nimage: 127.0.0.1:1/etcd@sha256:"
            + f"{i:064d}\nproperties:\n- type: olm.package\n  value: {{packageName: etcd, version: 1.0.{i}}}\n"
        )
    (root / "catalog.yaml").write_text(docs)
    seen: list[str] = []

    def callback(outcome: imgextract.BundleOutcome) -> None:
        seen.append(outcome.bundle.name)
        raise RuntimeError("bug in the callback")

    with pytest.raises(RuntimeError, match="bug in the callback"):
        imgextract.pull_catalog(
            tmp_path / "catalog",
            tmp_path / "out",
            jobs=2,
            on_done=callback,
            retries=0,
            env={"HOME": str(tmp_path)},
        )
    assert [t.name for t in threading.enumerate() if t.name.startswith("catalog-pull")] == []
    assert seen  # the callback ran (and failed) at least once

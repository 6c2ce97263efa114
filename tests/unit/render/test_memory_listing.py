"""A bundle held in memory renders as the same bundle on disk does (a bundle image whose layers
are small and plain is read into memory, never written to a staging directory).

Each tree below is written to disk and also given as ``files``/``dirs``; both renderings (or both
errors) must be identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle, render_listed
from imgextract.catalog.render.bundlefiles import memory_listing

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
IMAGE = "registry.example.com/widgets/bundle:v1.2.0"


def _widget() -> dict[str, bytes]:
    return {
        p.relative_to(WIDGET).as_posix(): p.read_bytes() for p in sorted(WIDGET.rglob("*")) if p.is_file()
    }


def _variants() -> dict[str, tuple[dict[str, bytes], set[str]]]:
    w = _widget()
    no_annotations = {k: v for k, v in w.items() if k != "metadata/annotations.yaml"}
    no_csv = {k: v for k, v in w.items() if "clusterserviceversion" not in k}
    return {
        "widget": (w, set()),
        "dotfiles and a subdirectory": (
            {**w, "manifests/.hidden.yaml": b"kind: Secret\n", "manifests/sub/x.yaml": b"kind: ConfigMap\n"},
            {"metadata/empty"},
        ),
        "an undecodable manifest": ({**w, "manifests/0-bad.yaml": b"a: [1, 2\n"}, set()),
        "no annotations": (no_annotations, set()),
        "no csv": (no_csv, set()),
        "no metadata": ({k: v for k, v in w.items() if k.startswith("manifests/")}, set()),
        "no manifests": ({k: v for k, v in w.items() if k.startswith("metadata/")}, set()),
        "empty manifests": ({k: v for k, v in w.items() if k.startswith("metadata/")}, {"manifests"}),
    }


def _dirs(files: dict[str, bytes], extra: set[str]) -> set[str]:
    dirs = {""}
    for path in [*files, *(f"{d}/x" for d in extra)]:
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return dirs


def _outcome(call: object) -> tuple[object, ...]:
    try:
        b = call()  # type: ignore[operator]
    except BundleError as exc:
        return ("error", str(exc))
    return (b.name, b.package, b.image, b.properties, b.related_images, b.csv_json)


@pytest.mark.parametrize("name", list(_variants()))
def test_memory_and_disk_render_alike(name: str, tmp_path: Path) -> None:
    files, extra = _variants()[name]
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    for d in extra:
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
    dirs = _dirs(files, extra)
    on_disk = _outcome(lambda: render_bundle(tmp_path, image=IMAGE))
    in_memory = _outcome(lambda: render_listed(memory_listing(files, dirs), image=IMAGE))
    assert in_memory == on_disk
    if name == "widget":
        assert on_disk[0] != "error"


def test_a_bundle_below_the_root_lists_alike(tmp_path: Path) -> None:
    files = {f"bundle/{k}": v for k, v in _widget().items()}
    listing = memory_listing(files, _dirs(files, set()), root="bundle")
    assert _outcome(lambda: render_listed(listing, image=IMAGE)) == _outcome(
        lambda: render_bundle(WIDGET, image=IMAGE)
    )

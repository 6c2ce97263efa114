"""Manifest files shared by bundles are decoded and encoded once per process (keyed by their bytes),
and what comes out is what a fresh decode gives: the same bytes in every format and migrate level,
the same errors at the same point (opm's order: objects, CSV, then the CRDs' own errors)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render import manifestmemo as memo_mod
from imgextract.catalog.render.bundle import BundleError, render_bundle
from imgextract.rendering import encode, render_raw

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"

# a CRD well over the memo's threshold, with what Go's encoders treat specially: floats, big and
# small numbers, HTML characters, a non-ASCII string, a null, several served versions
BIG_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  annotations:
    note: "<b>bold</b> & more"
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: false
  - name: v1beta1
    served: true
    storage: false
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-ratio: 1.0
        x-small: 1e-7
        x-big: 12345678901234567890
        x-nothing: null
        x-text: "grüße"
        properties:
""" + "".join(
    f"          field{i}:\n            type: string\n            description: field {i} <x> & y, 2.50\n"
    for i in range(120)
)

BIG_SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: shared-metrics\n  annotations:\n"
    + "".join(f"    a{i}: 'value {i} <&>'\n" for i in range(200))
    + "spec:\n  ports:\n  - port: 8443\n    targetPort: 1.5e3\n"
)


def _bundle(root: Path, name: str, *, crd: str = BIG_CRD, csv: bool = True) -> Path:
    d = root / name
    shutil.copytree(WIDGET, d)
    (d / "manifests" / "example.com_widgets.yaml").write_text(crd)
    (d / "manifests" / "zz-shared-service.yaml").write_text(BIG_SERVICE)
    if not csv:
        for p in (d / "manifests").glob("*.clusterserviceversion.yaml"):
            p.unlink()
    return d


@pytest.fixture
def fresh_memo() -> Any:
    memo_mod._MEMO.clear()
    yield memo_mod._MEMO
    memo_mod._MEMO.clear()


def _outputs(dirs: list[Path]) -> dict[tuple[str, str], str]:
    out = {}
    for level in ("none", "bundle-object-to-csv-metadata"):
        objs = render_raw(
            None, [str(d) for d in dirs], migrate_level=level, image_ref_template="r/{{.Name}}:1"
        )
        for fmt in ("json", "yaml", "ndjson"):
            out[(level, fmt)] = encode(objs, fmt)
    return out


def test_shared_files_decode_once_and_render_the_same_bytes(
    tmp_path: Path, fresh_memo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs = [_bundle(tmp_path, f"b{i}") for i in range(3)]
    assert len(BIG_CRD) > memo_mod._MEMO_MIN_BYTES and len(BIG_SERVICE) > memo_mod._MEMO_MIN_BYTES
    with monkeypatch.context() as m:  # the reference: no memo at all
        m.setattr(memo_mod, "_MEMO_MIN_BYTES", 1 << 40)
        expected = _outputs(dirs)
    decoded: list[int] = []
    real = memo_mod._decode_object

    def counting(data: bytes) -> Any:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(memo_mod, "_decode_object", counting)
    assert _outputs(dirs) == expected
    big = [n for n in decoded if n >= memo_mod._MEMO_MIN_BYTES]
    assert sorted(big) == sorted([len(BIG_CRD.encode()), len(BIG_SERVICE.encode())])  # once each
    # and per bundle, the render is the same as a cold one
    for d in dirs:
        warm = render_bundle(d, image="r/x:1")
        fresh_memo.clear()
        assert render_bundle(d, image="r/x:1") == warm


def test_errors_come_at_the_same_point_with_the_memo(tmp_path: Path, fresh_memo: Any) -> None:
    bad_crd = BIG_CRD.replace("  versions:\n", "  versions: 7\n  old:\n", 1)
    with_csv = _bundle(tmp_path, "with-csv", crd=bad_crd)
    without_csv = _bundle(tmp_path, "without-csv", crd=bad_crd, csv=False)
    seen = []
    for _ in range(2):  # the first decodes, the second comes from the memo
        with pytest.raises(BundleError, match="no csv in bundle"):
            render_bundle(without_csv, image="r/x:1")
        with pytest.raises(ValueError, match="error decoding v1 CRD") as err:
            render_bundle(with_csv, image="r/x:1")
        seen.append((type(err.value), str(err.value)))
    assert seen[0] == seen[1]


def test_threads_rendering_bundles_that_share_a_file_decode_it_once(
    tmp_path: Path, fresh_memo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the decoder holds the first thread inside the shared CRD until the second has asked for it too:
    # without one decode per key at a time, each would decode it
    dirs = [_bundle(tmp_path, f"t{i}") for i in range(2)]
    expected = [render_bundle(d, image="r/x:1") for d in dirs]
    fresh_memo.clear()
    real = memo_mod._decode_object
    decoded: list[int] = []
    arrived = threading.Event()

    def slow(data: bytes) -> Any:
        if len(data) == len(BIG_CRD.encode()):
            decoded.append(len(data))
            arrived.wait(timeout=1.0)  # the other thread asks for the same file meanwhile
        return real(data)

    monkeypatch.setattr(memo_mod, "_decode_object", slow)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        results[i] = render_bundle(dirs[i], image="r/x:1")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    # let the first reach the decoder, then release it once the second is waiting (or has decoded)
    for _ in range(200):
        if decoded:
            break
        time.sleep(0.005)
    time.sleep(0.2)
    arrived.set()
    for t in threads:
        t.join()
    assert results == expected
    assert decoded == [len(BIG_CRD.encode())]

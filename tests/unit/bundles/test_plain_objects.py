"""plain+v0 bundles against rukpak's plain provisioner (``ValidateBundle`` / ``getBundleObjects``).

rukpak reads every file directly in ``manifests/`` with ``util.ManifestObjects`` (cli-runtime's
local resource builder, flattened): each YAML or JSON document that is not empty or ``null`` must
decode as a Kubernetes object (a ``kind``; a list's ``items`` are its objects), and a bundle whose
files hold no object at all is refused with "found zero objects: plain+v0 bundles are required
to contain at least one object".  The data below is ours.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from imgextract.bundles import detect, registry_v1
from imgextract.bundles import labels as L
from imgextract.bundles.plain import count_objects
from imgextract.cli.exits import exit_code_for
from imgextract.errors import InvalidBundleError

PLAIN = {L.MEDIATYPE: "plain"}


def _bundle(root: Path, files: dict[str, str]) -> None:
    (root / "manifests").mkdir()
    for name, text in files.items():
        (root / "manifests" / name).write_text(text)


@pytest.mark.parametrize(
    "files",
    [
        {"empty.yaml": ""},
        {"comments.yaml": "# nothing to install yet\n"},
        {"separators.yaml": "---\n---\n"},
        {"nulls.yaml": "null\n---\n~\n"},
        {"a.yaml": "", "b.json": "   \n"},
        {"list.yaml": "apiVersion: v1\nkind: List\nitems: []\n"},
    ],
)
def test_a_plain_bundle_without_objects_is_refused(tmp_path: Path, files: dict[str, str]) -> None:
    """rukpak ``ValidateBundle``: zero objects across the manifests is an invalid bundle, even
    when the directory holds files (empty, comments, ``---`` or ``null`` documents, an empty List)."""
    _bundle(tmp_path, files)
    with pytest.raises(InvalidBundleError, match="at least one object") as exc:
        registry_v1.check_plain(tmp_path, detect.plan(PLAIN))
    assert exit_code_for(exc.value) == 6


@pytest.mark.parametrize(
    "text, problem",
    [
        ("apiVersion: v1\nmetadata:\n  name: cfg\n", "no kind"),
        ("kind: ''\n", "no kind"),
        ("kind: [ConfigMap]\n", "no kind"),
        ("kind: ConfigMap\n---\n{}\n", "no kind"),
        ("- kind: ConfigMap\n", "not a Kubernetes object"),
        ("just some words\n", "not a Kubernetes object"),
        ("kind: ConfigMap\nmetadata: [\n", "not valid YAML"),
        ('{"kind": "ConfigMap"} {"apiVersion": "v1"}', "no kind"),
        ('{"kind": "ConfigMap", ', "not valid JSON"),
    ],
)
def test_a_document_that_is_no_object_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    """cli-runtime's ``StreamVisitor`` decodes each non-empty document as ``unstructured``: one
    without a kind ("Object 'Kind' is missing"), a scalar or a sequence, or text that does not
    parse fails the whole bundle in rukpak ``getObjects``, next to a valid object or not."""
    _bundle(
        tmp_path, {"00-ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n", "cm.yaml": text}
    )
    with pytest.raises(InvalidBundleError, match=problem) as exc:
        registry_v1.check_plain(tmp_path, detect.plan(PLAIN))
    assert "manifests/cm.yaml" in str(exc.value)


@pytest.mark.parametrize(
    "text, count",
    [
        ("kind: Namespace\n", 1),
        ("---\napiVersion: v1\nkind: Namespace\n---\n# gap\n---\napiVersion: v1\nkind: ConfigMap\n", 2),
        ("apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n- kind: ConfigMap\n- kind: Secret\n", 3),
        ("apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: a}\n", 1),
        ('{"apiVersion": "v1", "kind": "Namespace"}\n{"apiVersion": "v1", "kind": "Secret"}', 2),
        ("name: &n Namespace\nkind: *n\n", 1),
        ("kind: Namespace\nkind: ConfigMap\n", 1),
    ],
)
def test_objects_are_counted_as_cli_runtime_flattens_them(text: str, count: int) -> None:
    """``resource.NewLocalBuilder().Flatten().Unstructured().Stream``: every object document counts
    once, a list counts its items (an item without kind and apiVersion takes the list's kind minus
    "List"), JSON streams may hold several values, and a ``kind`` given through an alias is a kind."""
    assert count_objects(text.encode(), "manifests/x.yaml") == count


def test_a_plain_bundle_with_one_object_passes(tmp_path: Path) -> None:
    _bundle(
        tmp_path, {"empty.yaml": "", "ns.yaml": "# the namespace\n---\napiVersion: v1\nkind: Namespace\n"}
    )
    assert registry_v1.check_plain(tmp_path, detect.plan(PLAIN)).manifests_dir == "manifests/"


def test_a_symlink_is_read_inside_the_image_and_a_dangling_one_is_refused(tmp_path: Path) -> None:
    """rukpak opens each entry of ``manifests/`` (a symlink is followed, inside the unpacked
    image); an entry it cannot read as a file fails the bundle."""
    _bundle(tmp_path, {})
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "ns.yaml").write_text("kind: Namespace\n")
    (tmp_path / "manifests" / "ns.yaml").symlink_to("/objects/ns.yaml")
    assert registry_v1.check_plain(tmp_path, detect.plan(PLAIN)).manifests_dir == "manifests/"
    (tmp_path / "manifests" / "gone.yaml").symlink_to("/objects/gone.yaml")
    with pytest.raises(InvalidBundleError, match="manifests/gone.yaml"):
        registry_v1.check_plain(tmp_path, detect.plan(PLAIN))


def _configmaps(path: Path, count: int, size: int) -> Path:
    """A JSON stream of ``count`` ConfigMaps of ``size`` bytes of data each."""
    value = b'{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"' + b"x" * size + b'"}}\n'
    with path.open("wb") as fh:
        for _ in range(count):
            fh.write(value)
    return path


def test_a_json_manifest_file_is_read_a_piece_at_a_time(tmp_path: Path) -> None:
    """A JSON manifest file may be as large as a layer lets it be (a few MiB of zstd decompress
    to gigabytes of such objects): it is decoded value by value, holding one value and a read,
    not the whole file and its text at once."""
    path = _configmaps(tmp_path / "big.json", 48, 1 << 20)
    with path.open("rb") as fh:
        tracemalloc.start()
        try:
            assert count_objects(fh, "big.json") == 48
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 << 20, peak


def test_a_json_value_past_the_bound_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One JSON value larger than ``MAX_JSON_VALUE`` is refused (a bundle error), not held."""
    from imgextract.bundles import plain

    monkeypatch.setattr(plain, "MAX_JSON_VALUE", 4 << 20)
    with _configmaps(tmp_path / "one.json", 1, 6 << 20).open("rb") as fh:
        with pytest.raises(
            InvalidBundleError, match=r"^big\.json: a JSON value is larger than 4194304 characters$"
        ):
            count_objects(fh, "big.json")
    with _configmaps(tmp_path / "three.json", 3, 3 << 20).open("rb") as fh:
        assert count_objects(fh, "big.json") == 3


def test_invalid_json_early_in_a_large_file_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value that more text cannot mend (here ``x`` where a value belongs) fails where it is,
    with the decoder's reason: more of the file is read only while the value may go on (a
    string still open, or an error where the text read so far ends)."""
    from imgextract.bundles import plain

    monkeypatch.setattr(plain, "MAX_JSON_VALUE", 1 << 20)
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"kind": x}\n' + _configmaps(tmp_path / "more.json", 4, 1 << 20).read_bytes())
    with path.open("rb") as fh:
        with pytest.raises(InvalidBundleError, match=r"^bad\.json is not valid JSON: Expecting value$"):
            count_objects(fh, "bad.json")

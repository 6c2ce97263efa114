"""The streaming FBC reader: JSON streams, YAML documents, .indexignore, errors that locate the object."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imgextract.catalog import fbc
from imgextract.catalog.fbc import CatalogFormatError, iter_catalog, iter_stream
from imgextract.errors import InvalidBundleError


def _objs(data: bytes, path: str = "f") -> list[fbc.FbcObject]:
    return list(iter_stream(io.BytesIO(data), path))


def test_concatenated_json_any_layout() -> None:
    objs = [{"schema": "olm.package", "name": "a"}, {"schema": "olm.bundle", "package": "a", "name": "b"}]
    for text in (
        json.dumps(objs[0]) + json.dumps(objs[1]),
        "\n\n" + json.dumps(objs[0], indent=4) + "\n" + json.dumps(objs[1], indent=4) + "\n",
        json.dumps(objs[0]) + "\n" + json.dumps(objs[1]) + "\n",
    ):
        got = _objs(text.encode(), "x.json")
        assert [o.data for o in got] == objs
        assert [(o.path, o.index, o.schema, o.package, o.name) for o in got] == [
            ("x.json", 0, "olm.package", "", "a"),
            ("x.json", 1, "olm.bundle", "a", "b"),
        ]


def test_json_object_spanning_many_chunks_and_utf8_boundaries() -> None:
    big = "é€" * 100_000  # multi-byte characters land on chunk boundaries
    text = json.dumps({"schema": "olm.bundle", "name": "n", "blob": big}, ensure_ascii=False)
    got = _objs((text + " " + text).encode())
    assert len(got) == 2 and got[1].data["blob"] == big


def test_yaml_multi_document_keeps_timestamps_as_strings() -> None:
    y = b"---\nschema: olm.package\nname: a\ncreated: 2020-01-02\n---\n---\nschema: olm.channel\npackage: a\nname: s\n"
    got = _objs(y, "x.yaml")
    assert [o.schema for o in got] == ["olm.package", "olm.channel"]
    assert got[0].data["created"] == "2020-01-02"
    assert [o.index for o in got] == [0, 1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"schema":"olm.package","name":"a"}\n{"name":"b"}', "x: object 1: missing root schema field"),
        (b'{"schema":"olm.package","name":"a"} {"schema": "olm', "x: object 1: invalid JSON"),
        (b'{"schema":"a"} [1, 2]', "x: object 1: json: cannot unmarshal array into Go value of type map"),
        (b"schema: a\n---\nschema: [\n", "x: object 1: invalid YAML"),
        (b'{"schema":"a","name":3}', 'x: object 0: expected value for key "name" to be a string'),
    ],
)
def test_errors_name_file_and_object_index(data: bytes, message: str) -> None:
    with pytest.raises(CatalogFormatError) as exc:
        _objs(data, "x")
    assert message in str(exc.value)
    assert isinstance(exc.value, InvalidBundleError)


def test_walk_honours_indexignore_like_opm(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "catalog.json").write_text('{"schema":"olm.package","name":"a"}')
    (tmp_path / "a" / "README.md").write_text("# not a config")
    (tmp_path / "a" / ".indexignore").write_text("*.md\n")
    (tmp_path / "b" / "skip").mkdir(parents=True)
    (tmp_path / "b" / "catalog.yaml").write_text("schema: olm.package\nname: b\n")
    (tmp_path / "b" / "skip" / "junk.txt").write_text("{{{ not json")
    (tmp_path / ".indexignore").write_text("/b/skip/\n")
    assert [(o.path, o.name) for o in iter_catalog(tmp_path)] == [
        ("a/catalog.json", "a"),
        ("b/catalog.yaml", "b"),
    ]


def test_walk_imports_the_ignore_matcher_only_for_an_ignore_file(tmp_path: Path) -> None:
    """Most catalogs have no .indexignore: reading them (``catalog``, ``pull --from-catalog``) does not
    load the ignore matcher (a fresh interpreter, so nothing else imported it first)."""
    import subprocess
    import sys

    (tmp_path / "plain" / "a").mkdir(parents=True)
    (tmp_path / "plain" / "a" / "catalog.json").write_text('{"schema":"olm.package","name":"a"}')
    (tmp_path / "ignoring").mkdir()
    (tmp_path / "ignoring" / "catalog.json").write_text('{"schema":"olm.package","name":"b"}')
    (tmp_path / "ignoring" / ".indexignore").write_text("*.md\n")
    script = (
        "import sys; from imgextract.catalog.fbc import iter_catalog; "
        "n = len(list(iter_catalog(sys.argv[1]))); print(n, 'imgextract.catalog.indexignore' in sys.modules)"
    )
    for name, loaded in (("plain", "False"), ("ignoring", "True")):
        run = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / name)], capture_output=True, text=True, check=True
        )
        assert run.stdout.split() == ["1", loaded], (name, run.stdout, run.stderr)


def test_walk_refuses_symlink_out_of_catalog(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text('{"schema":"x"}')
    (root / "link.json").symlink_to(tmp_path / "secret")
    with pytest.raises(CatalogFormatError, match="outside the catalog"):
        list(iter_catalog(root))


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError, match="does not exist"):
        list(iter_catalog(tmp_path / "nope"))


def test_filtered_objects_keep_deprecations_of_kept_packages_and_catalog_wide_objects(tmp_path: Path) -> None:
    from imgextract.catalog import Catalog

    objs = []
    for p in ("a", "b"):
        objs += [
            {"schema": "olm.package", "name": p, "defaultChannel": "stable"},
            {"schema": "olm.channel", "package": p, "name": "stable", "entries": [{"name": f"{p}.v1"}]},
            {
                "schema": "olm.bundle",
                "package": p,
                "name": f"{p}.v1",
                "image": f"r.example/{p}:v1",
                "properties": [{"type": "olm.package", "value": {"packageName": p, "version": "1.0.0"}}],
            },
            {"schema": "olm.deprecations", "package": p, "entries": []},
        ]
    objs.append({"schema": "example.com/notes", "name": "catalog-wide"})
    (tmp_path / "catalog.json").write_text("".join(json.dumps(o) for o in objs))
    kept = list(Catalog.from_directory(tmp_path).filter(packages=["b"]).objects())
    assert [(o["schema"], o.get("package", o.get("name"))) for o in kept] == [
        ("olm.package", "b"),
        ("olm.channel", "b"),
        ("olm.bundle", "b"),
        ("olm.deprecations", "b"),
        ("example.com/notes", "catalog-wide"),
    ]


def _pkg(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema": "olm.package", "name": name}))


def _names(root: Path) -> list[str]:
    return [o.name for o in iter_catalog(root)]


def test_indexignore_negation_reincludes_below_an_excluded_directory(tmp_path: Path) -> None:
    # joelanford/ignore hands go-git's matcher every pattern of every .indexignore; go-git's
    # Matcher.Match takes the last pattern that matches the file's path, and opm asks about files
    # only: a "!" pattern re-includes a file even when an earlier pattern excludes its directory
    # (git itself would keep it excluded)
    _pkg(tmp_path / "skip" / "keep.json", "keep")
    _pkg(tmp_path / "skip" / "drop.json", "drop")
    (tmp_path / ".indexignore").write_text("skip/\n!skip/keep.json\n")
    assert _names(tmp_path) == ["keep"]


def test_indexignore_later_file_wins_across_directories(tmp_path: Path) -> None:
    # patterns are appended in fs.WalkDir order, so sub/.indexignore comes after the root's and its
    # "!keep.yaml" (domain sub/) overrides the root's "*.yaml"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.yaml").write_text("schema: olm.package\nname: keep\n")
    (tmp_path / "sub" / "other.yaml").write_text("schema: olm.package\nname: other\n")
    (tmp_path / "top.yaml").write_text("schema: olm.package\nname: top\n")
    (tmp_path / ".indexignore").write_text("*.yaml\n")
    (tmp_path / "sub" / ".indexignore").write_text("!keep.yaml\n")
    assert _names(tmp_path) == ["keep"]


def test_indexignore_lines_are_trimmed_and_globs_are_go_filepath_match(tmp_path: Path) -> None:
    # loadPatterns: strings.TrimSpace on each line (leading blanks too); go-git matches a pattern
    # without "/" against every component with filepath.Match ("[^x]" negates a class; a malformed
    # pattern such as "[" matches nothing); a pattern with "/" is anchored at the file's directory
    _pkg(tmp_path / "a" / "x.json", "ax")
    _pkg(tmp_path / "a" / "y.json", "ay")
    _pkg(tmp_path / "b" / "a" / "z.json", "baz")
    _pkg(tmp_path / "[" / "x.json", "cx")
    (tmp_path / ".indexignore").write_text("   [^x].json  \n/b/a\n[\n")
    assert _names(tmp_path) == ["cx", "ax"]


def test_symlink_to_directory_or_nothing_is_an_error(tmp_path: Path) -> None:
    # fs.WalkDir does not follow links: a link is a non-directory entry, so WalkMetasFS opens it
    # (os.DirFS follows it) and reads: a directory fails the read, a dangling link the open
    root = tmp_path / "root"
    _pkg(root / "real" / "c.json", "c")
    (root / "linkdir").symlink_to(root / "real")
    with pytest.raises(CatalogFormatError, match="linkdir: read linkdir: is a directory"):
        list(iter_catalog(root))
    (root / "linkdir").unlink()
    (root / "gone.json").symlink_to(root / "missing.json")
    with pytest.raises(CatalogFormatError, match="gone.json: open gone.json: no such file or directory"):
        list(iter_catalog(root))
    (root / "gone.json").unlink()
    (root / "alias.json").symlink_to(root / "real" / "c.json")
    assert _names(root) == ["c", "c"]

"""The catalog commands read FBC by the same rules as ``render`` (opm's ``declcfg`` loader): one reader.

``declcfg.WalkMetasReader`` decodes each file with apimachinery's ``YAMLOrJSONDecoder`` (YAML through
go-yaml v2 and ``sigs.k8s.io/yaml``), ``Meta.UnmarshalJSON`` finds ``schema``/``package``/``name``
whatever their case and refuses top-level keys that collide once case-folded, and the typed
``Package``/``Channel``/``Bundle`` structs read their fields with Go's case-insensitive matching.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imgextract.catalog import Catalog
from imgextract.catalog.fbc import CatalogFormatError, iter_catalog, iter_stream
from imgextract.catalog.render.fbc import iter_fbc_dir


def _write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_meta_keys_found_whatever_their_case() -> None:
    """``declcfg.Meta.UnmarshalJSON``: ``Schema``/``Package``/``Name`` are the meta keys too."""
    got = list(iter_stream(io.BytesIO(b'{"Schema":"olm.bundle","PACKAGE":"p","Name":"b"}'), "x.json"))
    assert [(o.schema, o.package, o.name) for o in got] == [("olm.bundle", "p", "b")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema":"acme.note","Name":"a","name":"b"}', 'duplicate keys for key "name"'),
        ('{"schema":"acme.note","Color":"a","color":"b"}', 'duplicate keys for key "color"'),
        ('{"schema":"acme.note","Package":3}', 'expected value for key "Package" to be a string'),
    ],
)
def test_meta_key_errors_as_opm(text: str, message: str) -> None:
    """``extractUniqueMetaKeys``: keys equal once case-folded are an error, meta values are strings."""
    with pytest.raises(CatalogFormatError, match=message) as exc:
        list(iter_stream(io.BytesIO(text.encode()), "x.json"))
    assert "x.json: object 0" in str(exc.value)


@pytest.mark.parametrize("empty", ["# only a comment\n", "\n", "~\n", "null\n"])
def test_yaml_document_without_an_object_is_an_error(empty: str) -> None:
    """A document of comments or blank lines leaves opm's ``Meta`` empty: "missing root schema field".
    Separators alone make no document."""
    data = ("schema: olm.package\nname: p\n---\n---\n" + empty + "---\nschema: acme.x\n").encode()
    with pytest.raises(CatalogFormatError, match="x.yaml: object 1: .*missing root schema field"):
        list(iter_stream(io.BytesIO(data), "x.yaml"))


def test_yaml_scalars_resolved_as_go_yaml() -> None:
    """go-yaml v2 resolves ``1e3`` as a float and ``0o17`` as an integer (PyYAML: strings), so opm
    refuses them as names; ``on`` is a boolean, timestamps stay strings."""
    for scalar in ("1e3", "0o17"):
        data = f"schema: olm.package\nname: {scalar}\n".encode()
        with pytest.raises(CatalogFormatError, match='expected value for key "name" to be a string'):
            list(iter_stream(io.BytesIO(data), "x.yaml"))
    (obj,) = iter_stream(io.BytesIO(b"schema: acme.x\nflag: on\nwhen: 2020-01-02\ncount: 1_000\n"), "x.yaml")
    assert obj.data == {"schema": "acme.x", "flag": True, "when": "2020-01-02", "count": 1000}


def test_json_sniffed_on_the_first_4096_bytes() -> None:
    """``GuessJSONStream(r, 4096)``: a ``{`` after 4096 bytes of blanks is not JSON; the stream is YAML
    (where a flow mapping reads the same)."""
    (obj,) = iter_stream(io.BytesIO(b" " * 5000 + b'{"schema": "acme.x", "k": 1e3}'), "x")
    assert obj.data == {"schema": "acme.x", "k": 1000.0}


def test_fields_matched_case_insensitively_by_the_model(tmp_path: Path) -> None:
    """``json.Unmarshal`` into ``declcfg.Package``/``Channel``/``Bundle`` matches field names
    case-insensitively: the catalog model sees ``DefaultChannel``, ``Entries``, ``Replaces``."""
    objs = [
        {"Schema": "olm.package", "Name": "p", "DefaultChannel": "stable"},
        {
            "schema": "olm.channel",
            "package": "p",
            "name": "stable",
            "Entries": [{"Name": "p.v2", "Replaces": "p.v1"}, {"name": "p.v1"}],
        },
    ]
    for v in ("1.0.0", "2.0.0"):
        objs.append(
            {
                "schema": "olm.bundle",
                "package": "p",
                "name": f"p.v{v[0]}",
                "Image": f"r.example/p:{v}",
                "Properties": [{"Type": "olm.package", "Value": {"PackageName": "p", "Version": v}}],
                "RelatedImages": [{"Name": "op", "Image": f"r.example/op:{v}"}],
            }
        )
    _write(tmp_path, "p/catalog.json", "\n".join(json.dumps(o) for o in objs))
    cat = Catalog.from_directory(tmp_path)
    (pkg,) = cat.packages()
    assert pkg.default_channel == "stable"
    heads = cat.filter(heads_only=True).bundles()
    assert [(b.name, b.image, b.version) for b in heads] == [("p.v2", "r.example/p:2.0.0", "2.0.0")]
    assert [r.image for r in heads[0].related_images] == ["r.example/op:2.0.0"]
    kept = list(cat.objects())
    assert [e.get("Name", e.get("name")) for e in kept[1]["entries"]] == ["p.v2", "p.v1"]
    assert "Entries" not in kept[1] and kept[0]["DefaultChannel"] == "stable"


def test_catalog_and_render_read_the_same_objects(tmp_path: Path) -> None:
    """One reader: the objects ``render`` sees are the objects the catalog commands see."""
    _write(tmp_path, "a/catalog.yaml", "schema: acme.x\nv: 1e3\nw: 0x10\n---\nschema: acme.y\n")
    _write(tmp_path, "b.json", '{"schema":"acme.z","n":1}{"schema":"acme.z","n":2}')
    assert [(o.path, o.index, o.data) for o in iter_catalog(tmp_path)] == list(iter_fbc_dir(tmp_path))


class _Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read (separators and characters cut anywhere)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


def test_yaml_documents_cut_on_separator_lines_wherever_reads_end() -> None:
    """``YAMLReader``: ``---`` lines (blank or a comment after them) separate documents; CRLF lines
    and a last line without a newline are read too."""
    data = (
        "# head\r\nschema: acme.a\r\nname: é\r\n--- # next\nschema: acme.b\n---\n---\n"
        "{schema: acme.c, name: x}\n---   \nschema: acme.d\nv: '---'\n---\nschema: acme.e"
    ).encode()
    want = [("acme.a", "é"), ("acme.b", ""), ("acme.c", "x"), ("acme.d", ""), ("acme.e", "")]
    for step in (1, 3, 7, 4096, 1 << 20):
        got = [(o.schema, o.name) for o in iter_stream(_Trickle(data, step), "x.yaml")]  # type: ignore[arg-type]
        assert got == want, step


@pytest.mark.parametrize("line", ["--- {schema: acme.c}", "---schema: acme.c", "----"])
def test_a_separator_line_with_content_is_an_error(line: str) -> None:
    """apimachinery's ``YAMLReader``: a line starting with ``---`` may hold only blanks or a comment
    after it ("invalid Yaml document separator"), wherever the reads end."""
    data = f"schema: acme.a\n{line}\nname: x\n".encode()
    for step in (1, 5, 1 << 20):
        with pytest.raises(
            CatalogFormatError, match="x.yaml: object 0: invalid YAML: invalid Yaml document separator"
        ):
            list(iter_stream(_Trickle(data, step), "x.yaml"))  # type: ignore[arg-type]


def _objects(data: bytes) -> list[tuple[str, str, int]]:
    return [(o.schema, o.name, o.index) for o in iter_stream(io.BytesIO(data), "x.yaml")]


@pytest.mark.parametrize(
    "data",
    [
        # a YAML flow mapping starts with "{": not JSON, read again as YAML
        b"{schema: olm.package, name: p, defaultChannel: s}\n---\n{schema: olm.channel, package: p, name: s}\n",
        # one JSON object, then YAML documents (with or without a separator first)
        b'{"schema": "olm.package", "name": "p"}\n---\nschema: olm.channel\npackage: p\nname: s\n',
        b'{"schema": "olm.package", "name": "p"}\nschema: olm.channel\npackage: p\nname: s\n',
        b'{"schema": "olm.package", "name": "p"}   schema: olm.channel\npackage: p\nname: s\n',
        # a flow mapping JSON cannot read after the first object
        b'{"schema": "olm.package", "name": "p"}\n{schema: olm.channel, package: p, name: s}\n',
    ],
)
def test_json_turns_to_yaml_at_its_first_or_second_object(data: bytes) -> None:
    """apimachinery 0.33 ``YAMLOrJSONDecoder.Decode`` (opm master's ``WalkMetasReader``): a stream
    that looks like JSON is decoded as JSON while it can; when the first or second object fails,
    the rest of the stream from the end of the last decoded object (``consumeWhitespace``: blanks up
    to the first line end) is read as YAML documents."""
    assert _objects(data) == [("olm.package", "p", 0), ("olm.channel", "s", 1)]


def test_json_then_separator_only_is_one_object() -> None:
    """``YAMLOrJSONDecoder``: the YAML reading of ``---`` alone ends the stream."""
    assert _objects(b'{"schema": "acme.x", "name": "a"}\n---\n') == [("acme.x", "a", 0)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # two JSON objects make an unambiguous JSON stream: no turn to YAML
        (b'{"schema":"a.b","name":"1"}{"schema":"a.b","name":"2"}\nschema: a.b\n', "object 2: invalid JSON"),
        # the YAML reading fails too: the JSON error is reported
        (b"{schema: [a, b}\n", "object 0: invalid JSON"),
        (b'{"schema":"a.b"}\n- [x\n', "object 1: invalid JSON"),
        # consumeWhitespace looks four bytes ahead: a stream ending within them keeps the JSON error
        (b'{"schema":"a.b"}\n-', "object 1: invalid JSON"),
    ],
)
def test_json_errors_that_stay(data: bytes, message: str) -> None:
    """``YAMLOrJSONDecoder.Decode``: after two objects, or when YAML cannot read the rest either,
    the JSON decoder's error is the one returned."""
    with pytest.raises(CatalogFormatError, match=message):
        _objects(data)


def test_flow_mapping_catalog_loads_and_renders(tmp_path: Path) -> None:
    """A catalog file written as YAML flow mappings loads in the catalog commands and in render,
    as in opm master."""
    _write(
        tmp_path,
        "p/catalog.yaml",
        "{schema: olm.package, name: p, defaultChannel: stable}\n---\n"
        "{schema: olm.channel, package: p, name: stable, entries: [{name: p.v1.0.0}]}\n---\n"
        "{schema: olm.bundle, package: p, name: p.v1.0.0, image: 'quay.io/x/p:1',"
        " properties: [{type: olm.package, value: {packageName: p, version: 1.0.0}}]}\n",
    )
    cat = Catalog.from_directory(tmp_path)
    assert [b.name for b in cat.bundles()] == ["p.v1.0.0"]
    assert [o["schema"] for _f, _i, o in iter_fbc_dir(tmp_path)] == [
        "olm.package",
        "olm.channel",
        "olm.bundle",
    ]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "9" * 400])
def test_json_number_past_float64_is_yaml_text(number: str) -> None:
    """``Meta.UnmarshalJSON`` decodes into ``map[string]interface{}``: a number past float64's range
    is a JSON decoding error, so ``YAMLOrJSONDecoder`` reads the object again as YAML, where
    go-yaml v2 leaves that scalar a string (Python's decoder gave ``inf`` or a huge int)."""
    (obj,) = iter_stream(io.BytesIO(b'{"schema": "acme.x", "n": ' + number.encode() + b"}"), "x.json")
    assert obj.data["n"] == number


def test_yaml_document_end_marker_ends_what_is_read() -> None:
    """go-yaml v2 ``Unmarshal`` (through sigs.k8s.io/yaml) decodes the first document of what
    ``YAMLReader`` hands it: after a ``...`` end marker the rest of that part is never parsed (the
    next ``---`` line starts the next object)."""
    data = b"schema: acme.x\nname: a\n...\nname: ignored\n---\nschema: acme.x\nname: b\n"
    assert _objects(data) == [("acme.x", "a", 0), ("acme.x", "b", 1)]


@pytest.mark.parametrize("step", [1, 3, 7, 4096])
def test_json_to_yaml_turn_wherever_reads_end(step: int) -> None:
    """The turn to YAML gives back exactly the bytes after the last decoded JSON object, however the
    stream is cut into reads."""
    data = (
        b'{"schema": "olm.package", "name": "p", "description": "\\u00e9 \\"}\\" {"}'
        b"\xe2\x80\x83 \n---\nschema: olm.channel\npackage: p\nname: s\n"
    )
    stream = _Trickle(data, step)
    got = [(o.schema, o.name, o.index) for o in iter_stream(stream, "x")]  # type: ignore[arg-type]
    assert got == [("olm.package", "p", 0), ("olm.channel", "s", 1)]

"""What the catalog reader holds of a hostile file: a stream that looks like JSON is not read whole
to find out it is YAML, and what it keeps for a turn to YAML is bounded."""

from __future__ import annotations

import io

import pytest

from imgextract.catalog import fbc
from imgextract.catalog.fbc import CatalogFormatError, iter_stream


class _Trickle(io.RawIOBase):
    """``data`` handed out ``step`` bytes per read at most: reads that end anywhere."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = min(self.step, size if size >= 0 else self.step)
        out = self.data[self.pos : self.pos + step]
        self.pos += len(out)
        return out


class _Counted(io.RawIOBase):
    """``size`` bytes made of ``head`` then ``unit`` repeated, made as they are read (never held),
    counting what was handed out."""

    def __init__(self, head: bytes, unit: bytes, size: int, tail: bytes = b"") -> None:
        self._head, self._unit, self._size, self._tail = head, unit, size, tail
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        body = self._size - len(self._tail)
        if self.given >= self._size:
            return b""
        n = min(1 << 16 if size < 0 else size, self._size - self.given)
        out = bytearray()
        while len(out) < n:
            at = self.given + len(out)
            if at < len(self._head):
                out += self._head[at : at + n - len(out)]
            elif at < body:
                off = (at - len(self._head)) % len(self._unit)
                out += self._unit[off : off + min(n - len(out), body - at)]
            else:
                out += self._tail[at - body : at - body + n - len(out)]
        self.given += len(out)
        return bytes(out)


def test_a_yaml_flow_mapping_first_is_not_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A YAML file whose first document is a flow mapping (``{schema: ...}``) looks like JSON: its
    syntax error is known within the first bytes, as Go's scanner knows it, and the file turns to
    YAML there; it was read to its end first (or to the object bound: a file past it failed)."""
    monkeypatch.setattr(fbc, "_MAX_OBJECT", 1 << 20)
    doc = b"---\nschema: acme.x\nname: doc\nblob: " + b"x" * 4000 + b"\n"
    stream = _Counted(b"{schema: acme.x, name: first}\n", doc, 4 << 20)
    objects = iter_stream(stream, "x.yaml")  # type: ignore[arg-type]
    first = next(objects)
    assert (first.schema, first.name) == ("acme.x", "first")
    assert stream.given <= 3 << 16, f"{stream.given} bytes read to decode the first object"
    rest = sum(1 for _ in objects)
    assert rest >= (4 << 20) // len(doc) - 1 and stream.given == 4 << 20


def test_blanks_after_the_first_object_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the second JSON object decodes, what was read is kept for a turn to YAML: a run of
    blanks after the first object is that, and past twice the object bound it is an error, not
    a file held whole."""
    monkeypatch.setattr(fbc, "_MAX_OBJECT", 1 << 16)
    stream = _Counted(b'{"schema": "acme.x", "name": "a"}', b" \n", 1 << 20, tail=b'{"schema": "acme.x"}')
    objects = iter_stream(stream, "x.json")  # type: ignore[arg-type]
    assert next(objects).name == "a"
    with pytest.raises(CatalogFormatError, match=r"^x\.json: object 1: larger than 65536 bytes$"):
        next(objects)
    assert stream.given < 4 << 16


def test_two_objects_near_the_bound_still_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is per object: the first object's bytes are dropped once it decodes."""
    monkeypatch.setattr(fbc, "_MAX_OBJECT", 1 << 16)
    big = b'{"schema": "acme.x", "v": "' + b"y" * 60_000 + b'"}'
    data = big + b"\n" + big + b"\n" + big
    assert [o.index for o in iter_stream(io.BytesIO(data), "x.json")] == [0, 1, 2]


@pytest.mark.parametrize("step", [1, 3, 16, 17, 4096])
@pytest.mark.parametrize(
    ("data", "want"),
    [
        (b"{schema: acme.x, name: a}" + b" " * 40 + b"\n---\nschema: acme.y\n", ["acme.x", "acme.y"]),
        (b'{"schema": "acme.x"}\n{schema: acme.y, v: "' + b"z" * 100 + b'"}\n', ["acme.x", "acme.y"]),
        (
            b'{"schema": "acme.x", "v": "\\u00e9' + b"w" * 50 + b'"}{"schema": "acme.y", "n": -1e3}',
            ["acme.x", "acme.y"],
        ),
    ],
)
def test_the_turn_to_yaml_wherever_reads_end(step: int, data: bytes, want: list[str]) -> None:
    assert [o.schema for o in iter_stream(_Trickle(data, step), "x")] == want  # type: ignore[arg-type]


def test_a_yaml_document_without_line_ends_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The object bound holds for a YAML document with no line end: its bytes were kept, and
    searched again from the start for a line end at each read (quadratic), to the file's end."""
    monkeypatch.setattr(fbc, "_MAX_OBJECT", 1 << 20)
    stream = _Counted(b"schema: acme.x\nv: ", b"x", 16 << 20)
    with pytest.raises(CatalogFormatError, match=r"^x\.yaml: object 0: larger than 1048576 bytes$"):
        list(iter_stream(stream, "x.yaml"))  # type: ignore[arg-type]
    assert stream.given <= 2 << 20


@pytest.mark.parametrize("step", [1, 2, 7, 4096])
def test_yaml_lines_cut_anywhere_after_the_fix(step: int) -> None:
    """Line ends are searched in the new bytes only: documents still split wherever reads end."""
    data = b"schema: acme.a\nv: " + b"y" * 300 + b"\n---\nschema: acme.b\n--- # c\nschema: acme.c"

    assert [o.schema for o in iter_stream(_Trickle(data, step), "x.yaml")] == ["acme.a", "acme.b", "acme.c"]  # type: ignore[arg-type]

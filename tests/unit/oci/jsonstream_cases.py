"""Inputs and a harness for the two readers of concatenated JSON (plain bundle manifests, catalog
files): adversarial cases and seeded random ones, each read through a stream whose reads stop at
chosen offsets, with small read sizes and bounds so that every read boundary, an incomplete value
and a value past the bound are reached by short inputs.

An outcome is a short string: what the reader returned, or the error's type and message.
:func:`regression_cases` and :func:`regression_splits` are the subset the regression test reads
(a few seconds); the same generators, larger (``random_cases(1000)``, ``valid_cases(500)``, every
split offset), served to compare the readers' old and new code outcome for outcome.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable, Iterator
from types import ModuleType

READ_SIZES = (1, 3, 8, 64, 1 << 16)  # the readers' smallest read
SNIFF = 8  # the catalog reader's look for "{": short, so that most of an input is read in windows
BOUND = 400  # characters of one value


class SplitStream(io.RawIOBase):
    """``data`` whose reads never cross one of ``stops`` (a short read there, as a pipe gives)."""

    def __init__(self, data: bytes, stops: set[int]) -> None:
        self.data = data
        self.stops = sorted(stops)
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos
        return pos

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
        for stop in self.stops:
            if self.pos < stop < end:
                end = stop
                break
        out = self.data[self.pos : end]
        self.pos = end
        return out


def _short(outcome: str) -> str:
    """A long outcome as its start and a hash of the whole."""
    if len(outcome) <= 160:
        return outcome
    return outcome[:120] + " #" + hashlib.sha256(outcome.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _fbc_outcome(fbc: ModuleType, data: bytes, stops: set[int]) -> str:
    try:
        objects = list(fbc.iter_stream(SplitStream(data, stops), "f.json"))
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome
        return _short(f"{type(exc).__name__}: {exc}")
    return _short("ok " + repr([(o.index, o.schema, o.package, o.name, o.data) for o in objects]))


def _plain_outcome(plain: ModuleType, data: bytes, stops: set[int]) -> str:
    try:
        return f"ok {plain.count_objects(SplitStream(data, stops), 'm.json')}"
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome
        return _short(f"{type(exc).__name__}: {exc}")


def outcomes(kind: str, module: ModuleType, data: bytes, splits: Iterator[int] | list[int]) -> list[str]:
    """The outcome of reading ``data`` with ``module`` (``kind`` "fbc" or "plain") for each read
    size and each split offset (the module's read size, sniff and bound set small meanwhile)."""
    names = (
        {"_CHUNK": None, "_SNIFF": SNIFF, "_MAX_OBJECT": BOUND}
        if kind == "fbc"
        else {"_JSON_READ": None, "MAX_JSON_VALUE": BOUND}
    )
    read_name = "_CHUNK" if kind == "fbc" else "_JSON_READ"
    saved = {name: getattr(module, name) for name in names}
    run: Callable[[ModuleType, bytes, set[int]], str] = _fbc_outcome if kind == "fbc" else _plain_outcome
    out = []
    try:
        for name, value in names.items():
            if value is not None:
                setattr(module, name, value)
        split_list = list(splits)
        for size in READ_SIZES:
            setattr(module, read_name, size)
            for split in split_list:
                out.append(run(module, data, {split}))
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
    return out


def _obj(kind: str, body: str = "") -> bytes:
    return ('{"kind":"' + kind + '"' + body + "}").encode()


_PKG = b'{"schema":"olm.package","name":"p"}'
_BUNDLE = b'{"schema":"olm.bundle","package":"p","name":"b","x":[1,2.5,-0,1e2,"s"]}'

ADVERSARIAL: dict[str, bytes] = {
    "one": _obj("A"),
    "three": _obj("A") + b"\n" + _obj("B") + b" \t\r\n" + _obj("C"),
    "null-between": _obj("A") + b" null " + _obj("B"),
    "list": b'{"kind":"AList","items":[{"a":1},{"kind":"B"}]}',
    "package": _PKG,
    "package-bundle": _PKG + b"\n" + _BUNDLE,
    "blank-tail": _PKG + b"   \n\n\t",
    "bom": b"\xef\xbb\xbf" + _PKG,
    "go-blanks": b"\x0b\x0c" + _PKG,
    "nbsp-lead": b"\xc2\xa0" + _PKG,
    "empty-object": b"{}",
    "empty-objects": b"{} {} {}",
    "big-string": b'{"schema":"olm.package","name":"' + b"n" * 80 + b'"}',
    "past-bound": b'{"schema":"olm.package","name":"' + b"n" * 500 + b'"}',
    "past-bound-second": _PKG + b'{"schema":"olm.package","name":"' + b"n" * 500 + b'"}',
    "past-bound-plain": _obj("A", ',"x":"' + "y" * 500 + '"'),
    "near-bound-plain": _obj("A", ',"x":"' + "y" * 380 + '"'),
    "past-bound-unclosed": b'{"schema":"olm.package","name":"' + b"n" * 600,
    "long-blanks": _PKG + b" " * 900 + _PKG,
    "deep-ok": b'{"schema":"s","v":' + b"[" * 60 + b"]" * 60 + b"}",
    "deep-fail": b'{"schema":"s","v":' + b"[" * 3000 + b"]" * 3000 + b"}",
    "deep-unclosed": b"{" + b'"a":[' * 40,
    "nan": b'{"schema":"s","v":NaN}',
    "infinity": b'{"kind":"A","v":-Infinity}',
    "inf-partial": b'{"kind":"A","v":-Infin',
    "huge-float": b'{"schema":"s","v":1e400}',
    "huge-neg-float": b'{"schema":"s","v":-1e400}',
    "tiny-float": b'{"schema":"s","v":1e-400}',
    "big-int-float64": b'{"schema":"s","v":' + b"1" * 310 + b"}",
    "big-int-ok": b'{"schema":"s","v":' + b"9" * 300 + b"}",
    "int-limit": b'{"schema":"s","v":' + b"1" * 4400 + b"}",
    "int-limit-exp": b'{"kind":"A","v":' + b"1" * 4400 + b"e5}",
    "top-number": b"123",
    "top-number-then-object": b"12 " + _PKG,
    "top-int-limit-exp": b"1" * 4400 + b"e5",
    "top-string": b'"abc"',
    "top-literals": b"null true",
    "object-then-number": _PKG + b"12345",
    "object-then-null": _obj("A") + b"null",
    "object-then-nul": _obj("A") + b"nul",
    "leading-zero": b'{"schema":"s","v":01}',
    "hex": b'{"schema":"s","v":0x10}',
    "dot": b'{"schema":"s","v":1.}',
    "plus": b'{"schema":"s","v":+1}',
    "exp-cut": b'{"schema":"s","v":1e}',
    "surrogate-escape": b'{"schema":"s","name":"\\ud800x"}',
    "pair-escape": b'{"schema":"s","name":"\\ud83d\\ude00"}',
    "short-escape": b'{"schema":"s","name":"\\u00"}',
    "bad-escape": b'{"schema":"s","name":"\\x"}',
    "ff-in-string": b'{"schema":"s","name":"a\xffb"}',
    "ff-outside": b'{"schema":"s"}\xff',
    "ff-in-key": b'{"sch\xffema":"s"}',
    "overlong": b'{"schema":"s","name":"\xc0\x80"}',
    "bad-e0": b'{"schema":"s","name":"\xe0\x80z"}',
    "utf8-surrogate": b'{"schema":"s","name":"\xed\xa0\x80"}',
    "cut-3byte": b'{"schema":"s","name":"\xe2\x82"}',
    "cut-4byte-end": b'{"schema":"s","name":"x"}\xf0\x9f\x98',
    "euro": b'{"schema":"s","name":"\xe2\x82\xac\xf0\x9f\x98\x80"}',
    "f5-lead": b'{"schema":"s","name":"\xf5\x80\x80\x80"}',
    "unterminated-string": b'{"schema":"s","name":"abc',
    "unterminated-object": b'{"schema":"s"',
    "missing-colon": b'{"schema" "s"}',
    "trailing-comma": b'{"schema":"s",}',
    "dup-keys": b'{"schema":"s","Schema":"t"}',
    "schema-number": b'{"schema":1}',
    "yaml-flow": b"{schema: olm.package, name: p}",
    "json-then-yaml": _PKG + b"\n---\nschema: olm.bundle\nname: b\n",
    "two-json-then-yaml": _PKG + _PKG + b"\nschema: x\n",
    "json-then-garbage": _PKG + b" ]",
    "no-kind": b'{"apiVersion":"v1"}',
    "list-not-list": b'{"kind":"AList","items":{}}',
}


def _random_case(rng: random.Random) -> bytes:
    pieces = [
        b"{", b"}", b"[", b"]", b'"kind"', b'"schema"', b":", b",", b'"A"', b'"olm.package"', b"null",
        b"true", b"1e400", b"12", b"-0.5e-3", b"9" * 320, b" ", b"\n", b"\t", b"\xff", b"\xe2\x82",
        b"\xe2\x82\xac", b'"', b"\\", b"\\u", b"d800", b'"name"', b'"x\\"y"', b"NaN", b"-", b"e",
    ]  # fmt: skip
    if rng.random() < 0.5:  # a valid start then noise
        out = bytearray(rng.choice([_PKG, _obj("A"), _BUNDLE]))
    else:
        out = bytearray(b"{")
    for _ in range(rng.randrange(1, 30)):
        out += rng.choice(pieces)
    if rng.random() < 0.3:  # mutate a valid document
        doc = bytearray(rng.choice([_PKG, _BUNDLE, _obj("A", ',"items":null')]) * rng.randrange(1, 4))
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(doc))
            op = rng.randrange(3)
            if op == 0:
                del doc[at]
            elif op == 1:
                doc.insert(at, rng.choice(b'{}[]",: \\\xff\xe2'))
            else:
                doc[at] = rng.randrange(256)
        out = doc
    return bytes(out)


def _random_value(rng: random.Random, depth: int) -> object:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.choice([0, -1, 7, 2**53 + 1, 10**30, -(10**20)])
    if pick == 2:
        return rng.choice([0.5, -0.0, 1e300, 2.5e-300, 1e22, 123.456])
    if pick in (3, 4):
        return "".join(
            rng.choice(["a", "Z", " ", "\\", '"', "\u00e9", "\u20ac", "\U0001f600", "\ud800", "\n"])
            for _ in range(rng.randrange(12))
        )
    if pick in (5, 6):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{rng.randrange(5)}": _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def valid_cases(count: int, seed: int = 11) -> dict[str, bytes]:
    """Runs of well-formed objects (catalog and manifest shapes, random bodies), with blanks between
    them, raw UTF-8 in strings, and now and then a byte that is not UTF-8 inside a string."""
    rng = random.Random(seed)
    out = {}
    for i in range(count):
        docs = []
        for _ in range(rng.randrange(1, 5)):
            body = {"schema": "olm.bundle", "kind": "K", "package": "p", "name": f"n{rng.randrange(9)}"}
            body["v"] = _random_value(rng, 0)  # type: ignore[assignment]
            text = json.dumps(body, ensure_ascii=rng.random() < 0.5)
            docs.append(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: invalid UTF-8
        blank = rng.choice([b"", b"\n", b" ", b"\r\n\t "])
        data = blank.join(docs)
        if rng.random() < 0.2:
            at = data.index(b'"p"') + 1
            data = data[:at] + rng.choice([b"\xff", b"\xe2\x82", b"\xc3", b"\xed\xa0\x80"]) + data[at:]
        out[f"valid-{i}"] = data
    return out


def random_cases(count: int, seed: int = 10) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {f"random-{i}": _random_case(rng) for i in range(count)}


def truncations(cases: dict[str, bytes], names: list[str]) -> dict[str, bytes]:
    """Every proper prefix of the named cases (values cut short anywhere)."""
    return {f"{name}[:{n}]": cases[name][:n] for name in names for n in range(1, len(cases[name]))}


def every_split(data: bytes) -> list[int]:
    return list(range(len(data) + 1))


def some_splits(data: bytes, count: int = 12) -> list[int]:
    step = max(1, len(data) // count)
    return sorted({0, len(data), *range(1, len(data), step)})


TRUNCATED = ["package-bundle", "three", "euro", "list", "json-then-yaml", "surrogate-escape", "infinity"]


def regression_cases() -> dict[str, bytes]:
    """What the regression test reads: the adversarial cases, every proper prefix of some of
    them, and seeded random and well-formed runs."""
    cases = dict(ADVERSARIAL)
    cases.update(truncations(ADVERSARIAL, TRUNCATED))
    cases.update(random_cases(120))
    cases.update(valid_cases(80))
    return cases


def regression_splits(data: bytes) -> list[int]:
    """Every split offset of a short input, a few of a longer one."""
    return every_split(data) if len(data) <= 24 else some_splits(data, 5)

"""The streaming reader of concatenated JSON values (:mod:`imgextract.oci.jsonstream`) on its own:
what each parameter does, at every read boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract.oci import jsonstream
from tests.unit.oci.jsonstream_cases import SplitStream


def values(data: bytes, split: int | None = None, **options: Any) -> list[Any]:
    options.setdefault("read_size", 1)
    options.setdefault("max_value", 1 << 20)
    stream = SplitStream(data, set() if split is None else {split})
    return list(jsonstream.iter_values(stream, json.JSONDecoder().raw_decode, **options))


DOCS = [{"a": [1, 2.5, None, True]}, "s\u00e9\u20ac\U0001f600", [], {}, {"k": {"n": '\\"'}}]
TEXT = b" \n".join(json.dumps(d, ensure_ascii=False).encode() for d in DOCS) + b"\r\n\t"


@pytest.mark.parametrize("read_size", [1, 2, 5, 64, 1 << 16])
def test_every_split_and_read_size_reads_the_same_values(read_size: int) -> None:
    for split in range(len(TEXT) + 1):
        assert values(TEXT, split, read_size=read_size) == DOCS


def test_head_is_read_before_the_stream() -> None:
    head, rest = TEXT[:7], TEXT[7:]
    stream = SplitStream(rest, set())
    got = list(
        jsonstream.iter_values(stream, json.JSONDecoder().raw_decode, read_size=3, max_value=99, head=head)
    )
    assert got == DOCS


def test_a_value_cut_short_by_the_end_is_invalid_json_at_its_index() -> None:
    with pytest.raises(jsonstream.InvalidJSON) as caught:
        values(b'{"a":1} {"b": "open')
    assert caught.value.index == 1
    assert isinstance(caught.value.cause, json.JSONDecodeError)
    assert caught.value.cause.msg.startswith("Unterminated string")


def test_a_syntax_error_is_known_before_the_end_is_read() -> None:
    class Endless:
        def read(self, n: int) -> bytes:
            return b" " * n

    stream = SplitStream(b'{"a" 1}' + b" " * 64, set())
    reader = jsonstream.iter_values(stream, json.JSONDecoder().raw_decode, read_size=64, max_value=99)
    with pytest.raises(jsonstream.InvalidJSON):
        next(reader)
    reader = jsonstream.iter_values(
        Endless(), json.JSONDecoder().raw_decode, read_size=64, max_value=99, head=b'{"a" 1}'
    )
    with pytest.raises(jsonstream.InvalidJSON):
        next(reader)


def test_an_unfinished_value_past_the_bound_is_too_large() -> None:
    data = b'{"a":1}["' + b"x" * 300
    for split in (0, 5, 9, 100):
        with pytest.raises(jsonstream.ValueTooLarge) as caught:
            values(data, split, read_size=16, max_value=100)
        assert caught.value.index == 1


def test_a_decoded_value_past_the_bound_is_refused_only_when_asked() -> None:
    data = b'["' + b"x" * 150 + b'"]'
    assert values(data, read_size=1 << 10, max_value=100) == [["x" * 150]]  # it decoded in one window
    with pytest.raises(jsonstream.ValueTooLarge):
        values(data, read_size=1 << 10, max_value=100, bound_decoded=True)


def test_a_number_at_the_end_of_the_window_waits_when_asked() -> None:
    assert values(b"12", 1, read_size=1) == [1, 2]
    assert values(b"12", 1, read_size=1, scalars_wait=True) == [12]
    assert values(b"null 1", 2, read_size=1) == [None, 1]  # (a literal cut short fails to decode: it waits)


def test_utf8_cut_by_a_read_is_whole_and_invalid_utf8_is_replaced() -> None:
    data = '"\u20ac\U0001f600"'.encode()
    for split in range(len(data) + 1):
        assert values(data, split) == ["\u20ac\U0001f600"]
    bad = b'"a\xe2\x82"' + b'"\xff"' + b'"\xf0\x9f\x98'
    with pytest.raises(jsonstream.InvalidJSON):
        values(bad)
    assert values(b'"a\xe2\x82" "\xff" "\xed\xa0\x80"') == ["a\ufffd", "\ufffd", "\ufffd\ufffd\ufffd"]


def test_may_go_on() -> None:
    def failure(text: str) -> json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError) as caught:
            json.JSONDecoder().raw_decode(text)
        return caught.value

    assert jsonstream.may_go_on(failure('{"a": tr'), '{"a": tr')
    text = '{"a": "' + "x" * 40
    assert jsonstream.may_go_on(failure(text), text)  # a string still open
    text = '{"a" 1}' + " " * 40
    assert not jsonstream.may_go_on(failure(text), text)  # failed well before the end
    assert jsonstream.may_go_on(json.JSONDecodeError("number out of range", "1e400", 0), "x" * 40)  # a hook's
    assert not jsonstream.may_go_on(RecursionError(), "")

"""opm's YAML: sigs.k8s.io/yaml JSONToYAML = go-yaml v2 Marshal.  Expected text follows go-yaml v2
``encode.go`` (stringv: literal for "\\n", plain only when the text resolves back to a string and is not
a base-60 float or timestamp), ``sorter.go`` (keyList.Less) and the libyaml emitter port
(analyze_scalar, select_scalar_style, write_plain/single/double/literal with best_width 80)."""

from __future__ import annotations

from imgextract.catalog.render.goyamlout import dump, key_less


def test_key_order_is_go_yaml_natural_order() -> None:
    keys = ["b", "a10", "a9", "a_", "A", "1", "_x", "a-1"]
    ordered = sorted(keys, key=lambda k: sum(key_less(o, k) for o in keys))
    # digit runs compare as numbers ("_" has none: 0 < 1); a non-letter sorts before a letter
    assert ordered == ["_x", "1", "A", "a-1", "a_", "a9", "a10", "b"]


def test_scalars_that_would_resolve_are_quoted() -> None:
    out = dump(
        {"a": "true", "b": "1.0", "c": "", "d": "y", "e": "2026-03-04T05:06:07Z", "f": "1:20", "g": "0.1.0"}
    )
    assert out == ('a: "true"\nb: "1.0"\nc: ""\nd: "y"\ne: "2026-03-04T05:06:07Z"\nf: "1:20"\ng: 0.1.0\n')


def test_indicators_force_single_quotes() -> None:
    out = dump({"a": ">=1.0.0", "b": "a: b", "c": "# x", "d": "- x", "e": "x #y", "f": "it's", "g": "-x"})
    assert out == "a: '>=1.0.0'\nb: 'a: b'\nc: '# x'\nd: '- x'\ne: 'x #y'\nf: it's\ng: -x\n"


def test_unprintable_forces_double_quotes() -> None:
    # go-yaml's is_printable excludes tab and every 4-byte (astral) character
    out = dump({"a": "tab\there", "b": "smile \U0001f600", "c": "caf\u00e9"})
    assert out == 'a: "tab\\there"\nb: "smile \\U0001F600"\nc: café\n'


def test_literal_block_chomping() -> None:
    assert dump({"a": "x\ny"}) == "a: |-\n  x\n  y\n"
    assert dump({"a": "x\ny\n"}) == "a: |\n  x\n  y\n"
    assert dump({"a": "x\n\n"}) == "a: |+\n  x\n\n"
    assert dump({"a": " lead\nx"}) == "a: |2-\n   lead\n  x\n"
    # trailing spaces before a newline: literal not allowed, double-quoted with escapes
    assert dump({"a": "x \ny"}) == 'a: "x \\ny"\n'


def test_plain_folds_after_column_80() -> None:
    words = " ".join(["word"] * 25)
    out = dump({"description": words})
    first, second = out.splitlines()
    # the break comes at the first space once the column is past 80; continuation indented 2
    assert first == "description: " + " ".join(["word"] * 14)
    assert second == "  " + " ".join(["word"] * 11)


def test_collections() -> None:
    out = dump({"props": [{"type": "t", "value": {}}, []], "empty": [], "n": None, "f": 1e6, "i": 3})
    assert out == 'empty: []\nf: 1e+06\ni: 3\n"n": null\nprops:\n- type: t\n  value: {}\n- []\n'


def test_line_separator_in_single_quotes() -> None:
    # U+2028 is printable for go-yaml but a line break: plain is refused, single quotes allowed;
    # write_single_quoted copies the break, and the next character starts an indented line
    assert dump({"a": "one\u2028two"}) == "a: 'one\u2028  two'\n"


def test_long_or_multiline_keys_are_complex_keys() -> None:
    # libyaml check_simple_key: a scalar key over 128 bytes or with a line break is written after
    # "? ", and emit_block_mapping_value(simple=false) puts ":" on a fresh, indented line.
    k128, k129 = "k" * 128, "k" * 129
    assert dump({k128: "v"}) == f"{k128}: v\n"
    assert dump({k129: "v"}) == f"? {k129}\n: v\n"
    # bytes, not characters: 65 two-byte characters are 130 bytes
    assert dump({"\u00e9" * 65: 1}) == f"? {'é' * 65}\n: 1\n"
    # the value as a block collection continues on the ":" line (write_indent pads, no break)
    assert dump({k129: {"a": 1, "b": 2}}) == f"? {k129}\n: a: 1\n  b: 2\n"
    assert dump({k129: ["p", "q"]}) == f"? {k129}\n: - p\n  - q\n"
    assert dump({"a\nb": 1}) == "? |-\n  a\n  b\n: 1\n"
    # a complex key is not in simple-key context, so it folds after column 80 like a value
    words = " ".join(["word"] * 30)
    first, second, third = dump({words: "v"}).splitlines()
    assert first == "? " + " ".join(["word"] * 16)
    assert second == "  " + " ".join(["word"] * 14)
    assert third == ": v"
    # nested: the complex key sits at the mapping's indentation
    assert dump({"outer": {k129: "v"}}) == f"outer:\n  ? {k129}\n  : v\n"


def test_long_scalars_analysed_as_character_by_character() -> None:
    """A long value whose characters past the first set no flag (base64 data) is decided by its
    first two: the same answer, and the same bytes, as scanning every character."""
    import random

    from imgextract.catalog.render.goyamlout import _Analysis

    def scanned(s: str) -> tuple[bool, ...]:
        a = _Analysis.__new__(_Analysis)
        a._scan(s, s.startswith("---") or s.startswith("..."))
        return (a.multiline, a.flow_plain, a.block_plain, a.single, a.block)

    def analysed(s: str) -> tuple[bool, ...]:
        a = _Analysis(s)
        return (a.multiline, a.flow_plain, a.block_plain, a.single, a.block)

    rng = random.Random(12)
    heads = ["", " ", "\n", "-", "?", ":", "#", "'", "&", "\x01", "é", "a", "---", "...", "- ", "-:"]
    tails = ["QUJD", "a+b/c=", "x-y_z.w", "!\"$%&'()*+-./;<=>@\\^_`|~", "abc def", "a:b", "a#b", "a,b"]
    for _ in range(2000):
        s = rng.choice(heads) + "".join(rng.choice(tails) for _ in range(rng.randint(0, 4)))
        if s:
            assert analysed(s) == scanned(s), repr(s)
    data = "QUJD" * 30_000
    assert dump({"data": data, "a": "x" + data}) == f"a: x{data}\ndata: {data}\n"

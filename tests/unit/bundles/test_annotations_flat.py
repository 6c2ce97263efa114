"""The flat annotations.yaml form is read without PyYAML, and never differently from PyYAML.

Differential: thousands of generated documents (the common form, its variations, and random
mutations with the characters that matter to YAML) go through both readers; whenever the line
recogniser answers, its answer is the one the YAML path (libyaml's composer plus opm's rules) gives.
"""

from __future__ import annotations

import random

import pytest

from imgextract.bundles.annotations import parse_annotations, parse_flat, parse_yaml
from imgextract.errors import InvalidBundleError

KEYS = [
    "operators.operatorframework.io.bundle.mediatype.v1",
    "operators.operatorframework.io.bundle.channel.default.v1",
    "com.redhat.openshift.versions",
    "a",
    "k_1",
    "x-y/z",
    "1",
    "010",
    "yes",
    "null",
    ".5",
    "+1",
    "true",
    "a" * 250,
]
PLAIN = [
    "registry+v1",
    "manifests/",
    "metadata/",
    "stable,fast",
    "v4.6-v4.8",
    "a b",
    "a:b",
    "quay.io/x/y:v1",
    "1.0",
    "4.10",
    "010",
    "0x1F",
    "1_000",
    "1e6",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "null",
    "NULL",
    "2020-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "+12",
    "-3",
    "9223372036854775808",
    "18446744073709551616",
    "0b101",
    "0o17",
    "1e40",
    "x(y)",
    "a@b",
    "~x",
    "=v4.8",
    "a  b",
    "a #b",
    "a# b",
    "~",
    "<<",
    "a:",
    "a: b",
    "@x",
    "`x",
    "%x",
    "!x",
    "&a x",
    "*a",
    "|",
    ">",
    "-",
    "- x",
    "?",
    "? x",
    "[a]",
    "{a: b}",
    "a]",
    "a,b",
    "é",
    "",
]
COMMON_PLAIN = PLAIN.index("~x")
QUOTED = [
    '"x"',
    '"1.0"',
    '"true"',
    "'4.10'",
    "''",
    '""',
    '" a: b "',
    '"a\\"b"',
    "'a''b'",
    '"a #b"',
    "'x' y",
    '"\\t"',
]
ROOTS = ["annotations:", "Annotations:", "annotations: ", "annotations:  # c", "annotations: {}", "other:"]
EXTRA_LINES = [
    "",
    "# comment",
    "  # indented comment",
    "    # deep comment",
    "   ",
    "---",
    "...",
    "%YAML 1.1",
    "other: x",
    "    continued",
    "\t",
    "- x",
]
VALUE_ALPHABET = "aZ09 .-_/:#,'\"[]{}&*!|>%@`?~=+()\\"
MUTATION_CHARS = [
    " ",
    "\t",
    "\r",
    "\n",
    ":",
    "#",
    "-",
    "'",
    '"',
    "\\",
    "&",
    "*",
    "!",
    "[",
    "{",
    "?",
    "|",
    ">",
    "\ufeff",
    "\x00",
]


def yaml_answer(doc: bytes) -> dict[str, str] | None:
    try:
        return parse_yaml(doc)
    except InvalidBundleError:
        return None


def random_doc(rng: random.Random) -> str:
    wild = rng.random() < 0.4
    indent = " " * rng.choice([1, 2, 2, 2, 4])
    lines = [rng.choice(ROOTS) if rng.random() < 0.1 else "annotations:"]
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.12:
            lines.append(rng.choice(EXTRA_LINES[:3] if rng.random() < 0.6 else EXTRA_LINES))
            continue
        key = rng.choice(KEYS) + (f".{rng.randrange(100)}" if rng.random() < 0.7 else "")
        pick = rng.random()
        if wild and pick < 0.3:  # random text made of what matters to YAML
            value = "".join(rng.choice(VALUE_ALPHABET) for _ in range(rng.randint(1, 6)))
        elif wild:
            value = rng.choice(QUOTED) if pick < 0.15 else rng.choice(PLAIN)
        else:  # what the recogniser takes: typed, quoted and plain values
            value = rng.choice(QUOTED[:7]) if pick < 0.15 else rng.choice(PLAIN[:COMMON_PLAIN])
        sep = ": " if rng.random() < 0.97 else rng.choice([":", ":  ", " : ", ":\t"])
        ind = indent if rng.random() < 0.98 else " " * rng.randint(0, 5)
        lines.append(
            f"{ind}{key}{sep}{value}"
            + (rng.choice([" ", "  # c", " #c", "#c", "\r"]) if rng.random() < 0.02 else "")
        )
    if rng.random() < 0.2:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(EXTRA_LINES))
    return "\n".join(lines) + rng.choice(["\n"] * 6 + ["", "\n\n", "\r\n", "\n  "])


def mutate(doc: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(doc) + 1)
        op = rng.random()
        if op < 0.4:
            doc = doc[:i] + rng.choice(MUTATION_CHARS) + doc[i:]
        elif op < 0.7:
            doc = doc[:i] + doc[i + 1 :]
        else:
            doc = doc[:i] + rng.choice(MUTATION_CHARS) + doc[i + 1 :]
    return doc


@pytest.mark.parametrize("seed", range(4))
def test_flat_reader_agrees_with_yaml(seed: int) -> None:
    rng = random.Random(seed)
    accepted = 0
    for n in range(2500):
        doc = random_doc(rng)
        if n % 3 == 0:
            doc = mutate(doc, rng)
        data = doc.encode("utf-8")
        flat = parse_flat(data)
        if flat is not None:
            accepted += 1
            assert flat == yaml_answer(data), doc
    assert accepted > 300  # the recogniser is exercised, not only the fallback


def test_common_bundle_file_is_read_without_yaml() -> None:
    doc = (
        b"annotations:\n"
        b"  # Core bundle annotations.\n"
        b"  operators.operatorframework.io.bundle.mediatype.v1: registry+v1\n"
        b"  operators.operatorframework.io.bundle.manifests.v1: manifests/\n"
        b"  operators.operatorframework.io.bundle.metadata.v1: metadata/\n"
        b"  operators.operatorframework.io.bundle.package.v1: etcd\n"
        b"  operators.operatorframework.io.bundle.channels.v1: alpha,stable\n"
        b"  operators.operatorframework.io.bundle.channel.default.v1: stable\n"
        b"  operators.operatorframework.io.test.config.v1: tests/scorecard/\n"
        b'  com.redhat.openshift.versions: "v4.6-v4.8"\n'
        b"  operators.operatorframework.io.metrics.builder: operator-sdk-v1.4.0+git\n"
    )
    flat = parse_flat(doc)
    assert flat is not None
    assert flat == parse_yaml(doc) == parse_annotations(doc)
    assert flat["com.redhat.openshift.versions"] == "v4.6-v4.8"
    assert flat["operators.operatorframework.io.bundle.channels.v1"] == "alpha,stable"


@pytest.mark.parametrize(
    "doc",
    [
        b"annotations:\n  a: b\n    c\n",  # a continued plain scalar
        b"annotations:\n  a: b\n  a: c\n",  # duplicate key
        b"annotations:\n  a: b # c\n",  # comment after a value
        b"annotations:\r\n  a: b\r\n",
        b"\xef\xbb\xbfannotations:\n  a: b\n",
        b"annotations:\n\ta: b\n",
        b"annotations:\n  a: b\nother: c\n",
        b"---\nannotations:\n  a: b\n",
        b"annotations:\n  a: &x b\n",
        b'annotations:\n  a: "b\\tc"\n',
        b"annotations:\n",
        b"annotations:\n  a:\n",
        b"annotations:\n  " + b"k" * 1100 + b": v\n",  # longer than a simple key may be
    ],
)
def test_other_forms_go_to_yaml(doc: bytes) -> None:
    assert parse_flat(doc) is None

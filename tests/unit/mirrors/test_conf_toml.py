"""registries.conf's flat form is decoded without tomllib, and never differently from tomllib.

Differential: thousands of generated documents (comments, ``[aliases]``, top-level strings, and
random mutations with the characters TOML cares about) go through both decoders; whenever the flat
reader answers, its answer is ``tomllib.loads``' and the document is valid TOML.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

import pytest

from imgextract.mirrors import conf_toml

KEYS = [
    "alpine",
    '"alpine"',
    '"fedora-minimal"',
    "short-name-mode",
    '"a b"',
    '""',
    "x_1",
    "9",
    "aliases",
    '"a.b"',
]
VALUES = ['"docker.io/library/alpine"', '"enforcing"', '""', '"quay.io/x/y"', '"a # b"', '"a=b"', '"[x]"']
ODD_VALUES = [
    '"a\\"b"',
    "'lit'",
    '["docker.io"]',
    "true",
    "1",
    '"""x"""',
    '"\\u00e9"',
    "{a = 1}",
    '"é"',
    '"a',
]
LINES = [
    "",
    "# comment",
    "  # indented comment",
    "\t",
    "[aliases]",
    "  [aliases]  # c",
    "[ aliases ]",
    "[[registry]]",
    "[registries.search]",
    'registries = ["a"]',
    "a.b = 1",
    "x",
]
TEXT_ALPHABET = "aZ09 \t\"'=#[].,\\-_{}"
MUTATIONS = [" ", "\t", "\r", "\n", "#", "=", '"', "'", "\\", "[", "]", ".", "\x00", "\x7f", "é"]


def toml_answer(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def random_doc(rng: random.Random) -> str:
    wild = rng.random() < 0.4
    lines = []
    for _ in range(rng.randint(0, 12)):
        pick = rng.random()
        if pick < 0.25:
            lines.append(rng.choice(LINES[:6] if not wild else LINES))
            continue
        key = rng.choice(KEYS)
        if rng.random() < 0.6:
            key = key[:-1] + f'{rng.randrange(50)}"' if key.endswith('"') else f"{key}{rng.randrange(50)}"
        if wild and rng.random() < 0.3:  # random text made of what matters to TOML
            value = "".join(rng.choice(TEXT_ALPHABET) for _ in range(rng.randint(1, 8)))
        else:
            value = rng.choice(ODD_VALUES if wild and rng.random() < 0.3 else VALUES)
        indent = rng.choice(["", "", "  ", "\t"])
        eq = rng.choice([" = ", " = ", "=", " =\t", "  =  "])
        tail = rng.choice(["", "", "", " # c", "#c", " "])
        lines.append(f"{indent}{key}{eq}{value}{tail}")
    return "\n".join(lines) + rng.choice(["\n", "\n", "", "\r\n"])


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(text) + 1)
        op = rng.random()
        if op < 0.4:
            text = text[:i] + rng.choice(MUTATIONS) + text[i:]
        elif op < 0.7:
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + rng.choice(MUTATIONS) + text[i + 1 :]
    return text


@pytest.mark.parametrize("seed", range(4))
def test_flat_reader_agrees_with_tomllib(seed: int) -> None:
    rng = random.Random(seed)
    accepted = 0
    for n in range(2500):
        text = random_doc(rng)
        if n % 3 == 0:
            text = mutate(text, rng)
        flat = conf_toml.flat_document(text)
        if flat is not None:
            accepted += 1
            assert flat == toml_answer(text), text
    assert accepted > 400  # the reader is exercised, not only the fallback


def test_shipped_short_name_aliases_form_is_read_flat() -> None:
    text = (
        "[aliases]\n"
        "  # almalinux\n"
        '  "almalinux" = "docker.io/library/almalinux"\n'
        '  "skopeo" = "quay.io/skopeo/stable"\n'
        "\n"
        '  "fedora" = "registry.fedoraproject.org/fedora"\n'
    )
    flat = conf_toml.flat_document(text)
    assert flat == tomllib.loads(text)
    assert flat is not None and flat["aliases"]["skopeo"] == "quay.io/skopeo/stable"


def test_commented_out_file_is_empty() -> None:
    assert conf_toml.flat_document('# unqualified-search-registries = ["example.com"]\n\n#\n') == {}


@pytest.mark.parametrize(
    "text",
    [
        'unqualified-search-registries = ["docker.io"]\n',
        '[[registry]]\nlocation = "example.com"\n',
        '[aliases]\n"a" = "b"\n[aliases]\n',
        'a = "b"\na = "c"\n',
        '"a" = "b"\na = "c"\n',
        'aliases = "x"\n[aliases]\n',
        'a = "b"\r\n',
        'a = "b\\"c"\n',
        "a = 'b'\n",
        'a = "é"\n',
    ],
)
def test_other_forms_go_to_tomllib(text: str) -> None:
    assert conf_toml.flat_document(text) is None


def test_a_bad_file_still_fails_as_toml(tmp_path: Path) -> None:
    from imgextract.errors import ConfigError
    from imgextract.mirrors.conf_file import load_file

    path = tmp_path / "registries.conf"
    path.write_text('[aliases]\n"a" = "b"\n"a" = "c"\n')
    with pytest.raises(ConfigError, match="toml: "):
        load_file(path)

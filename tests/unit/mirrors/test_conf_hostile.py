"""registries.conf (and drop-ins) with hostile TOML: nesting deeper than Python's recursion limit
and integers past int()'s digit limit are the file's one-line ConfigError (exit 2), never a
RecursionError (an internal error) or a hint to call sys.set_int_max_str_digits()."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_file import load_file

HOSTILE = {
    "arrays": ("unqualified-search-registries = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    "inline-tables": ("x = " + "{a = " * 3000 + "1" + "}" * 3000, "nested too deeply"),
    "huge-int": ("x = " + "1" * 5000, "integer out of range"),
}


@pytest.mark.parametrize(("text", "reason"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_toml_is_a_config_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "registries.conf"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=f'registries.conf": toml: {reason}') as info:
        load_file(path)
    assert "sys." not in str(info.value)

"""Cases of containers/image ``pkg/sysregistriesv2/system_registries_v2_test.go`` that the
conformance vectors do not carry, restated as registries.conf files (the Go tests call internal
functions; here the same rule is observed through the file it governs).

- ``TestV1RegistriesConfHasSetField`` / ``TestV2RegistriesConfHasSetField``: ``loadConfigFile``
  decides "this file uses v1" / "this file uses v2" with ``hasSetField``, so a key present with an
  empty value (``[]``, an empty ``[aliases]`` table) counts, and an empty string does not.
- ``TestNewConfigWrapper``: which main file is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_file import load_file
from imgextract.mirrors.conf_loader import resolve_paths

V1_BLOCK = '[registries.block]\nregistries = ["blocked.example"]\n'


@pytest.mark.parametrize(
    ("v2_part", "has_set_field"),
    [
        ("", False),
        ('short-name-mode = ""\n', False),  # a string field at its zero value is not set
        ("registry = []\n", True),
        ("unqualified-search-registries = []\n", True),
        ("credential-helpers = []\n", True),
        ("[aliases]\n", True),
        ('[[registry]]\nprefix = "example.com"\n', True),
        ('unqualified-search-registries = ["example.com"]\n', True),
        ('credential-helpers = ["a"]\n', True),
        ('short-name-mode = "enforcing"\n', True),
        ('[aliases]\n"a" = "example.com/b"\n', True),
        ('additional-layer-store-auth-helper = "example"\n', True),
    ],
)
def test_v2_has_set_field_decides_mixing(tmp_path: Path, v2_part: str, has_set_field: bool) -> None:
    """TestV2RegistriesConfHasSetField, through loadConfigFile's "mixing sysregistry v1/v2" check."""
    conf = tmp_path / "registries.conf"
    # a top-level key must come before [registries.block] (after it, it would belong to that table)
    conf.write_text(V1_BLOCK + v2_part if v2_part.startswith("[") else v2_part + V1_BLOCK)
    if has_set_field:
        with pytest.raises(ConfigError, match="mixing sysregistry v1/v2 is not supported"):
            load_file(conf)
    else:
        (reg,) = load_file(conf).registries
        assert (reg.location, reg.blocked) == ("blocked.example", True)


@pytest.mark.parametrize(
    ("v1_part", "has_set_field"),
    [
        ("", False),
        ("[registries.search]\n", False),  # a table without its list sets nothing
        ("[registries.search]\nregistries = []\n", True),
        ("[registries.insecure]\nregistries = []\n", True),
        ("[registries.block]\nregistries = []\n", True),
        ('[registries.search]\nregistries = ["example.com"]\n', True),
        ('[registries.insecure]\nregistries = ["example.com"]\n', True),
        ('[registries.block]\nregistries = ["example.com"]\n', True),
    ],
)
def test_v1_has_set_field_decides_v1(tmp_path: Path, v1_part: str, has_set_field: bool) -> None:
    """TestV1RegistriesConfHasSetField, through loadConfigFile's forceV2 check for drop-ins."""
    drop_in = tmp_path / "50-drop-in.conf"
    drop_in.write_text(v1_part)
    if has_set_field:
        with pytest.raises(ConfigError, match="registry must be in v2 format but is in v1"):
            load_file(drop_in, drop_in=True)
    else:
        assert load_file(drop_in, drop_in=True).registries == []


@pytest.mark.parametrize("user_file_present", [False, True])
@pytest.mark.parametrize("explicit", [None, "/this/is/not/the/default/registries.conf", "$HOME"])
def test_new_config_wrapper(tmp_path: Path, explicit: str | None, user_file_present: bool) -> None:
    """TestNewConfigWrapper: an explicit path always wins (no environment expansion in it), else
    the per-user file when it exists, else the system file."""
    home = tmp_path / "home"
    user_conf = home / ".config/containers/registries.conf"
    if user_file_present:
        user_conf.parent.mkdir(parents=True)
        user_conf.write_text("")
    system_conf = tmp_path / "etc/containers/registries.conf"
    paths = resolve_paths(
        Path(explicit) if explicit else None,
        None,
        {"HOME": str(home)},
        home=home,
        system_conf=system_conf,
        system_dir=tmp_path / "etc/containers/registries.conf.d",
    )
    if explicit:
        assert (paths.config, paths.must_exist) == (Path(explicit), True)
    elif user_file_present:
        assert (paths.config, paths.must_exist) == (user_conf, False)
    else:
        assert (paths.config, paths.must_exist) == (system_conf, False)

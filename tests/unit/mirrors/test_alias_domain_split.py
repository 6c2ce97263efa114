"""Which part of an ``[aliases]`` name or value is its registry: distribution's name grammar decides.

containers/image ``pkg/sysregistriesv2/shortnames.go`` (``validateShortName``,
``parseShortNameValue``) asks ``reference.Domain`` of ``reference.Parse(...)``.  The domain is the
first path component only when that component matches the domain grammar; ``a.b_c`` does not (a
domain component has no ``_``), so in ``a.b_c/x`` it is part of the path and the domain is empty,
even though it contains a ``.``.  Checked against skopeo 1.9.3 loading the same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_file import load_file


def _load(tmp_path: Path, aliases: str) -> dict[str, str | None]:
    conf = tmp_path / "registries.conf"
    conf.write_text(f"[aliases]\n{aliases}")
    return {name: alias.value for name, alias in load_file(conf).aliases.items()}


def test_a_dotted_first_component_that_is_no_domain_is_a_short_name(tmp_path: Path) -> None:
    # validateShortName: Domain("a.b_c/x") == "" -> a valid short name
    assert _load(tmp_path, '"a.b_c/x" = "quay.io/acme/x"\n') == {"a.b_c/x": "quay.io/acme/x"}


def test_an_alias_value_whose_first_component_is_no_domain_has_no_registry(tmp_path: Path) -> None:
    # parseShortNameValue: Domain("a.b_c/x") == "" -> "must contain registry and repository"
    with pytest.raises(ConfigError, match="must contain registry and repository"):
        _load(tmp_path, '"x" = "a.b_c/x"\n')


@pytest.mark.parametrize("name", ["quay.io/x", "localhost/x", "host:5000/x", "Upper.example/x"])
def test_a_domain_in_a_short_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="must not contain registry"):
        _load(tmp_path, f'"{name}" = "quay.io/acme/x"\n')


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("localhost/x", "localhost/x"),
        ("host:5000/ns/x", "host:5000/ns/x"),
        ("docker.io/x", "docker.io/library/x"),
    ],
)
def test_alias_values_with_a_domain(tmp_path: Path, value: str, normalised: str) -> None:
    assert _load(tmp_path, f'"x" = "{value}"\n') == {"x": normalised}


@pytest.mark.parametrize("value", ["x", "ns/x", "foo_bar.baz/x"])
def test_alias_values_without_a_domain_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="must contain registry and repository"):
        _load(tmp_path, f'"x" = "{value}"\n')

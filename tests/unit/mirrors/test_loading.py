"""Which registries.conf files are read, in which order, and how drop-ins merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors.conf_loader import ConfPaths, load_registries_conf, resolve_paths
from imgextract.mirrors.config import load_mirror_config
from imgextract.reference import parse_reference
from imgextract.settings import MirrorSettings


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    paths = {
        "home": home,
        "user_conf": home / ".config/containers/registries.conf",
        "user_dir": home / ".config/containers/registries.conf.d",
        "system_conf": tmp_path / "etc/registries.conf",
        "system_dir": tmp_path / "etc/registries.conf.d",
        "explicit": tmp_path / "explicit.conf",
        "explicit_dir": tmp_path / "explicit.d",
    }
    return paths


def _resolve(
    layout: dict[str, Path],
    explicit: Path | None = None,
    explicit_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Path, bool, tuple[Path, ...]]:
    p = resolve_paths(
        explicit,
        explicit_dir,
        {"HOME": str(layout["home"]), **(env or {})},
        system_conf=layout["system_conf"],
        system_dir=layout["system_dir"],
    )
    return p.config, p.must_exist, p.drop_in_dirs


def test_default_is_system_file_with_both_drop_in_dirs(layout: dict[str, Path]) -> None:
    assert _resolve(layout) == (layout["system_conf"], False, (layout["system_dir"], layout["user_dir"]))


def test_user_file_replaces_system_file_and_system_drop_ins(layout: dict[str, Path]) -> None:
    layout["user_conf"].parent.mkdir(parents=True)
    layout["user_conf"].write_text("")
    assert _resolve(layout) == (layout["user_conf"], False, (layout["user_dir"],))
    assert _resolve(layout, explicit_dir=layout["explicit_dir"]) == (
        layout["user_conf"],
        False,
        (layout["explicit_dir"],),
    )


def test_environment_variable_names_the_file(layout: dict[str, Path]) -> None:
    env = {"CONTAINERS_REGISTRIES_CONF": str(layout["explicit"])}
    assert _resolve(layout, env=env) == (layout["explicit"], True, (layout["system_dir"], layout["user_dir"]))


def test_explicit_path_wins_over_environment(layout: dict[str, Path], tmp_path: Path) -> None:
    env = {"CONTAINERS_REGISTRIES_CONF": str(tmp_path / "from-env.conf")}
    assert _resolve(layout, explicit=layout["explicit"], explicit_dir=layout["explicit_dir"], env=env) == (
        layout["explicit"],
        True,
        (layout["explicit_dir"],),
    )


def test_missing_default_file_is_empty_but_missing_named_file_is_an_error(tmp_path: Path) -> None:
    absent = tmp_path / "absent.conf"
    assert load_registries_conf(ConfPaths(absent, False, ())).registries == []
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_registries_conf(ConfPaths(absent, True, ()))


def test_drop_ins_only_conf_files_in_lexical_order(tmp_path: Path) -> None:
    main = tmp_path / "registries.conf"
    main.write_text(
        'unqualified-search-registries = ["a.io"]\n[[registry]]\nprefix = "q.io/ns"\n'
        'location = "main.local/ns"\n[[registry.mirror]]\nlocation = "m.local/ns"\n'
    )
    d = tmp_path / "registries.conf.d"
    (d / "sub.conf").mkdir(parents=True)  # a directory named *.conf is not a file: ignored
    (d / "sub.conf" / "x.conf").write_text('[[registry]]\nlocation = "nested.io"\n')
    (d / "20-second.conf").write_text('[[registry]]\nprefix = "q.io/ns"\nlocation = "second.local/ns"\n')
    (d / "10-first.conf").write_text(
        'unqualified-search-registries = ["b.io"]\n'
        '[[registry]]\nprefix = "q.io/ns"\nlocation = "first.local/ns"\n'
    )
    (d / "30-ignored.conf.bak").write_text('[[registry]]\nlocation = "ignored.io"\n')
    conf = load_registries_conf(ConfPaths(main, True, (d,)))
    # same prefix: the later file replaces the entry whole (its mirrors are gone too)
    assert [r.as_dict() for r in conf.registries] == [
        {
            "prefix": "q.io/ns",
            "location": "second.local/ns",
            "insecure": False,
            "blocked": False,
            "mirror_by_digest_only": False,
            "mirrors": [],
        }
    ]
    assert conf.unqualified_search_registries == ["b.io"]
    assert conf.files == [str(main), str(d / "10-first.conf"), str(d / "20-second.conf")]


def test_drop_in_must_be_v2(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "old.conf").write_text('[registries.search]\nregistries = ["a.io"]\n')
    with pytest.raises(
        ConfigError, match=r'drop-in registries configuration ".*old.conf": registry must be in v2'
    ):
        load_registries_conf(ConfPaths(tmp_path / "absent", False, (d,)))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[registry]]\nlocation = 5\n", "'location' must be a string"),
        ('[[registry]]\nlocation = "a.io"\ninsecure = "yes"\n', "'insecure' must be a boolean"),
        ('registry = "a.io"\n', "'registry' must be an array of tables"),
        ('unqualified-search-registries = "a.io"\n', "must be an array of strings"),
        ("[aliases]\nfoo = 1\n", "[aliases] must be a table of strings"),
        ("[[registry]\n", "toml:"),
        (
            '[[registry]]\nlocation = "a.io"\nblocked = true\n[[registry]]\nprefix = "b.io"\nlocation = "a.io"\n',
            "conflicting 'blocked' setting",
        ),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, toml: str, message: str) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        load_registries_conf(ConfPaths(conf, True, ()))
    assert message in str(exc.value)
    assert str(conf) in str(exc.value)


def test_load_mirror_config_uses_env_home_and_system_paths(tmp_path: Path) -> None:
    system = tmp_path / "etc" / "registries.conf"
    system.parent.mkdir()
    system.write_text('[[registry]]\nlocation = "q.io"\n[[registry.mirror]]\nlocation = "sys.local"\n')
    settings = MirrorSettings(
        env={"HOME": str(tmp_path / "home")},
        system_registries_conf=system,
        system_registries_conf_dir=tmp_path / "etc" / "registries.conf.d",
    )
    config = load_mirror_config(settings)
    assert [str(s.reference) for s in config.pull_sources(parse_reference("q.io/a:1"))] == [
        "sys.local/a:1",
        "q.io/a:1",
    ]
    user = tmp_path / "home" / ".config" / "containers" / "registries.conf"
    user.parent.mkdir(parents=True)
    user.write_text('[[registry]]\nlocation = "q.io"\n[[registry.mirror]]\nlocation = "user.local"\n')
    config = load_mirror_config(settings)
    assert [str(s.reference) for s in config.pull_sources(parse_reference("q.io/a:1"))] == [
        "user.local/a:1",
        "q.io/a:1",
    ]

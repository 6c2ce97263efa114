"""registries.conf fields are matched as BurntSushi/toml matches them to containers/image's structs
(``unifyStruct``: an exact key, else one equal under case folding), so a file that spells a field
``Blocked`` or ``[[Registry]]`` means to podman/CRI-O what it means here."""

from __future__ import annotations

from pathlib import Path

from imgextract.mirrors.conf_file import load_file


def test_fields_in_any_case_are_the_fields(tmp_path: Path) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text(
        'Unqualified-Search-Registries = ["quay.io"]\n'
        'SHORT-NAME-MODE = "enforcing"\n'
        "[Aliases]\n"
        '"widget" = "quay.io/acme/widget"\n'
        "[[Registry]]\n"
        'Prefix = "evil.example"\n'
        'LOCATION = "evil.example"\n'
        "Blocked = true\n"
        "[[Registry]]\n"
        'location = "src.example"\n'
        "Mirror-By-Digest-Only = true\n"
        "[[Registry.Mirror]]\n"
        'Location = "mirror.example"\n'
        "Insecure = true\n"
    )
    parsed = load_file(conf)
    regs = {r.prefix: r for r in parsed.registries}
    assert regs["evil.example"].blocked is True
    assert regs["src.example"].mirror_by_digest_only is True
    (mirror,) = regs["src.example"].mirrors
    assert (mirror.location, mirror.insecure) == ("mirror.example", True)
    assert parsed.unqualified_search_registries == ["quay.io"]
    assert parsed.short_name_mode == "enforcing"
    assert parsed.aliases["widget"].value == "quay.io/acme/widget"


def test_v1_tables_in_any_case(tmp_path: Path) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text('[Registries.Block]\nRegistries = ["blocked.example"]\n')
    (reg,) = load_file(conf).registries
    assert (reg.prefix, reg.blocked) == ("blocked.example", True)


def test_an_exact_key_wins_over_a_folded_one(tmp_path: Path) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text('[[registry]]\nlocation = "a.example"\nLocation = "b.example"\n')
    (reg,) = load_file(conf).registries
    assert reg.location == "a.example"

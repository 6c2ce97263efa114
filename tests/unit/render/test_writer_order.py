"""The order opm writes a rendered config in: operator-registry master's ``alpha/declcfg/write.go``
(``organizeByPackage`` + ``writeToEncoder``): packages by name, the "" package a key like any other (so
first); per package its olm.package objects, channels, bundles (each by name), deprecations, then the
other objects by schema and name, each with ``slices.SortFunc``; nothing is skipped."""

from __future__ import annotations

from typing import Any

from imgextract.catalog.render.writer import opm_order


def _o(schema: str, package: str = "", name: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"schema": schema}
    if name:
        out["name"] = name
    if package:
        out["package"] = package
    out.update(extra)
    return out


def test_write_to_encoder_order() -> None:
    objs = [
        _o("example.root", name="second-root"),
        _o("olm.deprecations", "gizmo", entries=[]),
        _o("example.note", "gizmo", "z-note"),
        _o("olm.bundle", "gizmo", "gizmo.v2"),
        _o("example.attr", "gizmo", "b-attr"),
        _o("olm.channel", "gizmo", "stable"),
        _o("olm.package", name="gizmo"),
        _o("example.note", "gizmo", "a-note"),
        _o("olm.bundle", "gizmo", "gizmo.v1"),
        _o("olm.channel", "gizmo", "alpha"),
        _o("example.root", name="first-root"),
        _o("olm.package", name="acme"),
        _o("olm.bundle", "", "orphan.v1"),
        _o("olm.channel", "acme", "fast"),
    ]
    got = [(o["schema"], o.get("package", ""), o.get("name", "")) for o in opm_order(objs)]
    assert got == [
        ("olm.bundle", "", "orphan.v1"),  # the "" package sorts first and is written like any other
        ("example.root", "", "first-root"),
        ("example.root", "", "second-root"),
        ("olm.package", "", "acme"),
        ("olm.channel", "acme", "fast"),
        ("olm.package", "", "gizmo"),
        ("olm.channel", "gizmo", "alpha"),
        ("olm.channel", "gizmo", "stable"),
        ("olm.bundle", "gizmo", "gizmo.v1"),
        ("olm.bundle", "gizmo", "gizmo.v2"),
        ("olm.deprecations", "gizmo", ""),
        ("example.attr", "gizmo", "b-attr"),  # others by schema, then name
        ("example.note", "gizmo", "a-note"),
        ("example.note", "gizmo", "z-note"),
    ]

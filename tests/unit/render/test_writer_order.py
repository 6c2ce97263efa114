"""The order opm writes a rendered config in (operator-registry ``alpha/declcfg/write.go``,
``writeToEncoder``): by package name; per package its olm.package objects as they came, channels and
bundles by name (``sort.Slice``), the other objects by schema alone (``sort.SliceStable``, so their
names do not count), then its deprecations as they came; objects of no package after every package, as
they came; packages, channels, bundles and deprecations naming no package are not written."""

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
        _o("example.root", name="first-root", tag=1),
        _o("olm.package", name="acme"),
        _o("olm.bundle", "", "orphan.v1"),  # no package: opm does not write it
        _o("olm.channel", "acme", "fast"),
    ]
    got = [(o["schema"], o.get("package", ""), o.get("name", "")) for o in opm_order(objs)]
    assert got == [
        ("olm.package", "", "acme"),
        ("olm.channel", "acme", "fast"),
        ("olm.package", "", "gizmo"),
        ("olm.channel", "gizmo", "alpha"),
        ("olm.channel", "gizmo", "stable"),
        ("olm.bundle", "gizmo", "gizmo.v1"),
        ("olm.bundle", "gizmo", "gizmo.v2"),
        ("example.attr", "gizmo", "b-attr"),
        ("example.note", "gizmo", "z-note"),  # one schema: kept as they came, names ignored
        ("example.note", "gizmo", "a-note"),
        ("olm.deprecations", "gizmo", ""),
        ("example.root", "", "second-root"),  # no package: last, as they came
        ("example.root", "", "first-root"),
    ]

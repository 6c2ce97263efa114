"""The default platform, ``linux/<host arch>`` (``--platform`` unset), spelled as Go's ``GOARCH`` is:
the names image indexes carry, whatever ``uname -m`` calls the machine."""

from __future__ import annotations

import platform

import pytest

from imgextract.settings import host_platform


@pytest.mark.parametrize(
    ("machine", "goarch"),
    [
        ("x86_64", "amd64"),
        ("AMD64", "amd64"),
        ("aarch64", "arm64"),
        ("arm64", "arm64"),
        ("armv7l", "arm"),
        ("armv6l", "arm"),
        ("armv8l", "arm"),  # a 32-bit userland on a 64-bit ARM kernel
        ("i686", "386"),
        ("i386", "386"),
        ("ppc64le", "ppc64le"),
        ("s390x", "s390x"),
        ("riscv64", "riscv64"),
        ("loongarch64", "loong64"),
    ],
)
def test_host_arch_in_goarch_spelling(monkeypatch: pytest.MonkeyPatch, machine: str, goarch: str) -> None:
    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert host_platform() == f"linux/{goarch}"

"""Platforms (``os/arch[/variant]``): parsing, containerd's normalisation and exact matching."""

from __future__ import annotations

import re
from typing import Any, Final

from imgextract.errors import IntegrityError, UsageError
from imgextract.oci.fields import Struct, strings
from imgextract.records import FrozenRecord


def _normalize_os(os_name: str) -> str:
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd ``platforms.NormalizeArch``: canonical architecture and variant."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):  # (containerd keeps v8.0 apart from v8)
        return "arm64", "v8" if variant in ("", "8", "v8") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
        return "arm", variant
    return arch, variant


# ``uname -m`` -> Go's GOARCH, the spelling image indexes use.
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv6l": "arm",
    "armv7l": "arm",
    "armv8l": "arm",  # 32-bit userland on a 64-bit ARM kernel
    "loongarch64": "loong64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The host's architecture as Go's ``GOARCH`` spells it (``runtime.GOARCH``)."""
    import platform  # (the standard library's: imports are absolute)

    machine = platform.machine().lower()
    return _ARCH_ALIASES.get(machine, machine)


# containerd platforms ``isKnownOS`` / ``isKnownArch`` (Go's syslist): what a one-part specifier
# (``linux``, ``arm64``) may name.
_KNOWN_OS = frozenset(
    "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 "
    "solaris windows zos".split()
)
_KNOWN_ARCH = frozenset(
    "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le "
    "mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split()
)


_PLATFORM = Struct(
    "descriptor platform",
    architecture="string",
    os="string",
    os__version="string",
    os__features="strings",
    variant="string",
)

# containerd platforms.Parse: the os component (without its "(version+features)" options, which
# a pull here does not match on) and the architecture and variant components (specifierRe).
_OS_SPECIFIER = re.compile(r"[A-Za-z0-9_-]+")
_SPECIFIER = re.compile(r"[A-Za-z0-9_.-]+")

_LEVEL = re.compile(r"v?([+-]?[0-9]+)")  # strconv.Atoi(strings.TrimPrefix(variant, "v"))


def _level(variant: str) -> int | None:
    match = _LEVEL.fullmatch(variant)
    return int(match.group(1)) if match and len(match.group(1)) < 19 else None


# amd64 and arm levels a fallback walks down from: containerd lists every lower level, a list no
# machine holds for ``amd64/v999999999999``; a level past this one falls back as this plus one
# would (amd64 levels end at v4, arm at v8).
_MAX_LEVEL = 32


def _older_variants(arch: str, variant: str) -> list[str]:
    """containerd ``platformVector`` within one architecture: the variants a machine of ``arch``/
    ``variant`` (normalised) also runs, most capable first.  Its steps to another architecture
    (amd64 to 386, arm64 to arm) are left out, as containers/image never takes them."""
    if arch in ("amd64", "arm"):
        level, lowest = _level(variant), (1 if arch == "amd64" else 5)
        if level is None or level <= lowest:
            return []
        top = min(level - 1, _MAX_LEVEL)
        return [f"v{n}" if n > 1 else "" for n in range(top, lowest - 1, -1)]
    if arch != "arm64":
        return []
    major_text, dot, minor_text = variant.partition(".")
    major = _level(major_text)
    if major is None or major < 8:
        return []
    # (an ASCII digit: str.isdigit also holds for "²", which int() refuses)
    minor = int(minor_text) if dot and len(variant) == 4 and "0" <= minor_text <= "9" else 0
    out = [f"v{major}.{m}" if m else f"v{major}" for m in range(minor - 1, -1, -1)]
    if major == 9:  # v9.0 forked from v8.5: v9.x runs v8.(x+5) ... v8
        major, minor = 8, minor + 5
        out.append(f"v8.{minor}")
    if major == 8:
        out += [f"v8.{m}" if m else "v8" for m in range(minor - 1, -1, -1)]
    return out


class Platform(FrozenRecord):
    """An OCI platform (os, architecture, variant, ...), normalised as containerd does."""

    __slots__ = ("os", "architecture", "variant", "os_version", "os_features")

    def __init__(
        self,
        os: str,
        architecture: str,
        variant: str = "",
        os_version: str = "",
        os_features: tuple[str, ...] = (),
    ) -> None:
        self.os: Final = os
        self.architecture: Final = architecture
        self.variant: Final = variant
        self.os_version: Final = os_version
        self.os_features: Final = os_features

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``os/arch[/variant]``, ``os`` or ``arch`` as given to ``--platform`` (containerd
        ``platforms.Parse``); raises :class:`UsageError` when malformed.

        One part is an operating system Go knows (``linux``: the host's architecture) or else an
        architecture Go knows, normalised (``arm64``, ``aarch64``, ``armel``: on ``linux``, the only
        operating system a pull here defaults to)."""
        if not isinstance(text, str):  # (a Platform too: the text is what settings keep)
            raise UsageError(f"invalid platform {text!r:.200}: expected a string os/arch[/variant]")
        parts = text.strip().split("/")
        if (
            len(parts) not in (1, 2, 3)
            or not _OS_SPECIFIER.fullmatch(parts[0])
            or not all(_SPECIFIER.fullmatch(p) for p in parts[1:])
        ):
            raise UsageError(f"invalid platform {text[:200]!r}: expected os/arch[/variant]")
        if len(parts) == 1:
            return cls._parse_one(parts[0], text)
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else "")

    @classmethod
    def _parse_one(cls, part: str, text: str) -> Platform:
        os_name = _normalize_os(part)
        if os_name in _KNOWN_OS:
            return cls(os=os_name, architecture=host_architecture())
        arch, variant = _normalize_arch(part, "")
        if arch in _KNOWN_ARCH:  # (containerd spells arm/v7 and arm64/v8 without the variant)
            return cls(os="linux", architecture=arch, variant="" if variant in ("v7", "v8") else variant)
        raise UsageError(
            f"invalid platform {text[:200]!r}: unknown operating system or architecture "
            "(expected os/arch[/variant], e.g. linux/amd64)"
        )

    @classmethod
    def from_json(cls, data: Any) -> Platform:
        """A descriptor's ``platform`` object, decoded as Go decodes ``v1.Platform`` (see
        :mod:`imgextract.oci.fields`).  A missing ``os`` or ``architecture`` is "", as in Go:
        containers/image's ``ChooseInstance`` then matches the entry to nothing, and so do we."""
        if not isinstance(data, dict):
            raise IntegrityError("malformed descriptor: platform is not an object")
        fields = _PLATFORM.decode(data)
        return cls(
            os=fields.get("os", ""),
            architecture=fields.get("architecture", ""),
            variant=fields.get("variant", ""),
            os_version=fields.get("os.version", ""),
            os_features=strings(fields.get("os.features")),
        )

    def normalized(self) -> Platform:
        arch, variant = _normalize_arch(self.architecture, self.variant)
        return Platform(
            os=_normalize_os(self.os),
            architecture=arch,
            variant=variant,
            os_version=self.os_version,
            os_features=self.os_features,
        )

    def key(self) -> tuple[str, str, str]:
        """What :meth:`matches` compares: os, architecture and variant after normalisation (to
        compare one platform with many, normalise each once)."""
        arch, variant = _normalize_arch(self.architecture, self.variant)
        return _normalize_os(self.os), arch, variant

    def matches(self, other: Platform) -> bool:
        """containerd's exact matcher: os, architecture and variant equal after normalisation."""
        return self.key() == other.key()

    def compatible(self) -> tuple[Platform, ...]:
        """This platform, then those whose images it also runs, most capable first (containerd
        ``platforms.Only``): arm/vN runs arm/vN-1 ... v5, amd64/vN runs amd64/vN-1 ... v1 (the
        baseline, spelled without a variant), arm64/v8.x runs v8.x-1 ... v8, arm64/v9.x runs
        v9.x-1 ... v9 and then v8.x+5 ... v8.  Never another architecture.

        Last, as containers/image's ``WantedPlatforms`` always has it, the architecture without a
        variant (``riscv64/rva23`` also takes a plain ``riscv64`` image) -- except for arm, whose
        bare name containerd reads as arm/v7, which an arm/v5 or v6 machine does not run."""
        p = self.normalized()
        variants = _older_variants(p.architecture, p.variant)
        if p.variant and p.architecture != "arm":
            bare = "v8" if p.architecture == "arm64" else ""  # (_normalize_arch of no variant)
            if bare != p.variant and bare not in variants:
                variants.append(bare)
        return (self, *(Platform(p.os, p.architecture, v, p.os_version, p.os_features) for v in variants))

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

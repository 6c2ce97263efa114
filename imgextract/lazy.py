"""Package attributes imported on first use (PEP 562), so importing a package stays cheap.

``imgextract`` and ``imgextract.catalog`` name many public objects whose modules pull in HTTP,
YAML or the catalog reader; a script that needs one of them should not pay for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: ``names`` maps an attribute to the module
    defining it; a resolved attribute is stored in ``namespace`` (the package's ``globals()``) so
    the lookup happens once."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__

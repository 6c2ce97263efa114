"""`make demo` installs the package with its `demo` extra only (not the test extras): every
third-party module the demo script and the fixture modules it loads import must come from the
runtime dependencies or that extra (the demo broke once when requests left the runtime ones)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "registry-fixtures"


def _imports(path: Path) -> set[str]:
    """What importing the module imports: its module-level statements (a function's own imports run
    only on the paths that call it, such as TLS or htpasswd registries the demo does not start)."""
    names: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    top = [
        n
        for stmt in tree.body
        if not isinstance(stmt, ast.FunctionDef | ast.ClassDef)
        for n in ast.walk(stmt)
    ]
    for node in top:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _closure() -> set[str]:
    """Top-level names of the modules that importing demo.py imports, through the regfix modules."""
    seen: set[Path] = set()
    todo = [FIXTURES / "demo.py"]
    found: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            if name == "regfix" or name.startswith("regfix."):
                parts = name.split(".")[1:]
                module = FIXTURES / "regfix" / Path(*parts) if parts else FIXTURES / "regfix"
                todo.append(module / "__init__.py" if module.is_dir() else module.with_suffix(".py"))
            else:
                found.add(name.split(".")[0])
    return found


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[ <>=!;\[~]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}


def test_the_demo_imports_only_what_make_demo_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    allowed = _requirement_names(project["dependencies"] + project["optional-dependencies"]["demo"])
    distributions = packages_distributions()
    third_party = {name for name in _closure() if name not in sys.stdlib_module_names}
    assert "requests" in third_party  # the check sees the fixtures' imports at all
    missing = {
        name: distributions.get(name, [name])
        for name in third_party
        if not {d.lower().replace("_", "-") for d in distributions.get(name, [name])} & allowed
    }
    assert not missing, f"imported by make demo's fixtures but not installed by it: {missing}"

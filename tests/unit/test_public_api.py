"""The library's shape as docs/architecture.md draws it: the public surface, one-shot functions over
``Client`` methods, frozen results whose ``to_json()`` is the ``--json`` object, and a library that
never prints and never exits."""

from __future__ import annotations

import ast
import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract import client as client_module

PACKAGE = Path(imgextract.__file__).parent
ONE_SHOTS = ("pull", "inspect", "copy", "verify", "render", "explain_mirrors", "pull_catalog")
RESULTS = ("PullResult", "InspectResult", "MirrorsResult", "CopyResult")


def test_public_surface_names_what_the_architecture_lists() -> None:
    """``__init__.py``: "Client, pull, inspect, copy, render, verify, Catalog, parse_reference,
    result types, the exception tree"; every name of ``__all__`` resolves."""
    wanted = {"Client", "pull", "inspect", "copy", "render", "verify", "Catalog", "parse_reference"}
    tree = {
        v.__name__
        for v in vars(imgextract.errors).values()
        if isinstance(v, type) and issubclass(v, Exception)
    }
    wanted |= set(RESULTS) | tree
    assert wanted <= set(imgextract.__all__)
    for name in imgextract.__all__:
        assert getattr(imgextract, name) is not None, name


def test_py_typed_ships_beside_the_package() -> None:
    """``py.typed beside it``: present, and listed in the wheel's package data."""
    assert (PACKAGE / "py.typed").is_file()
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["imgextract"]


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_every_one_shot_function_wraps_a_client_method(name: str) -> None:
    """``client.py``: "every operation is a method; one-shot functions wrap it" (same name, same
    docstring subject: the function says which method it runs)."""
    function = getattr(imgextract, name)
    method = getattr(imgextract.Client, name)
    assert callable(function) and callable(method)
    assert function.__module__ in (client_module.__name__, imgextract.__name__)
    assert f"Client.{name}" in (function.__doc__ or ""), name


def test_client_is_a_context_manager() -> None:
    with imgextract.Client() as c:
        assert isinstance(c, imgextract.Client)


@pytest.mark.parametrize("name", RESULTS)
def test_results_are_frozen_dataclasses_with_to_json(name: str) -> None:
    """ "Results are frozen dataclasses whose ``to_json()`` is the ``--json`` contract"."""
    cls: Any = getattr(imgextract, name)
    assert isinstance(cls, type) and dataclasses.is_dataclass(cls)
    assert vars(cls)["__dataclass_params__"].frozen
    assert callable(vars(cls)["to_json"])


def _library_modules() -> list[Path]:
    cli = PACKAGE / "cli"
    return [p for p in PACKAGE.rglob("*.py") if cli not in p.parents and p.name != "__main__.py"]


def test_the_library_never_prints_and_never_exits() -> None:
    """ "The library never prints and never exits": outside ``cli/`` (and ``__main__``) no module
    calls ``print``, ``exit``, ``sys.exit``, ``os._exit`` or ``click.echo``, writes to
    ``sys.stdout``/``sys.stderr``, or raises ``SystemExit``."""
    offenders = []
    for path in _library_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            bad = None
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in ("print", "exit", "quit"):
                    bad = f.id
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    if (f.value.id, f.attr) in {("sys", "exit"), ("os", "_exit"), ("click", "echo")}:
                        bad = f"{f.value.id}.{f.attr}"
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "sys" and node.attr in ("stdout", "stderr"):
                    bad = f"sys.{node.attr}"
            elif isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id == "SystemExit":
                    bad = "SystemExit"
            if bad:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)} {bad}")
    assert offenders == []


@pytest.mark.parametrize("name", ONE_SHOTS)
def test_every_one_shot_result_type_is_public(name: str) -> None:
    """What a one-shot function returns can be named from ``imgextract`` (annotations, isinstance):
    its result class is in ``__all__``, a frozen dataclass, and so is every result class it holds."""
    import inspect

    returned = str(inspect.signature(getattr(imgextract, name)).return_annotation).strip("'\"")
    if "[" in returned:  # list[dict[str, Any]] (render): plain data
        return
    assert returned in imgextract.__all__, returned
    assert vars(getattr(imgextract, returned))["__dataclass_params__"].frozen
    if name == "pull_catalog":
        assert "BundleOutcome" in imgextract.__all__
        assert vars(imgextract.BundleOutcome)["__dataclass_params__"].frozen


def test_pull_refuses_a_single_string_as_paths(tmp_path: Path) -> None:
    """``paths="/etc"`` is not ``paths=["/etc"]``: read as its characters it would include "/", the
    whole image. Refused before any network (nothing listens at 127.0.0.1:1), nothing written."""
    with imgextract.Client(insecure_registries=["127.0.0.1:1"], retries=0) as client:
        with pytest.raises(imgextract.UsageError, match="paths takes a list of paths"):
            client.pull("127.0.0.1:1/ux/x:v1", tmp_path / "out", paths="/etc")
    assert not (tmp_path / "out").exists()

"""docs/library.md is executable: every ``python`` block runs, in order, against a real registry.

The page's examples use ``localhost:5000/team/etcd-bundle:v0.9.4``; the test pushes a registry+v1
bundle there on a registry fixture and rewrites ``localhost:5000`` to that registry's address.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix import bundles
from regfix.pytest_plugin import PushedImage
from regfix.registry import Registry

pytestmark = pytest.mark.registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def test_library_doc_examples_run(
    registry: Registry,
    push_image: Callable[..., PushedImage],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    push_image(registry, bundles.registry_v1_bundle(large_crd=False), "team/etcd-bundle", "v0.9.4")
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 5, "docs/library.md lost its examples"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in [k for k in os.environ if k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "CONTAINERS_"))]:
        monkeypatch.delenv(name)
    namespace: dict[str, Any] = {"__name__": "docs_library"}
    for i, block in enumerate(blocks):
        code = block.replace("localhost:5000", registry.host)
        exec(compile(code, f"docs/library.md block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "registry+v1" in out and "insecure_registries" in out
    assert (tmp_path / "etcd" / "manifests").is_dir() and (tmp_path / "bundle-1" / "manifests").is_dir()

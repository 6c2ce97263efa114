"""registries.d files with hostile YAML: ``<<`` merge loops and merge bombs fail with one clear
PolicyError in bounded time (yaml.v3 refuses "anchor ... value contains itself" and "document
contains excessive aliasing"), never a RecursionError or a hang."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from imgextract.signatures import PolicyError, load_registries_d


def _within(seconds: float, fn: Callable[[], object]) -> BaseException | None:
    """The exception ``fn()`` raised (None if it returned); a test failure if it hangs."""
    out: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            out.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s")
    return out[0]


def _load(tmp_path: Path, text: str) -> BaseException | None:
    d = tmp_path / "registries.d"
    d.mkdir()
    (d / "sigs.yaml").write_text(text)
    return _within(10, lambda: load_registries_d(d, env={"HOME": str(tmp_path)}))


def _merge_bomb(levels: int) -> str:
    lines = ["b0: &b0 {lookaside: https://sigs.test/s}"]
    for i in range(1, levels + 1):
        lines.append(f"b{i}: &b{i} {{<<: [{', '.join([f'*b{i - 1}'] * 9)}]}}")
    return "\n".join(lines) + f"\ndocker:\n  reg.test: *b{levels}\n"


@pytest.mark.parametrize(
    "text",
    [
        "docker: &d\n  <<: *d\n  reg.test: {lookaside: https://sigs.test/s}\n",
        "docker:\n  reg.test: &n\n    <<: *n\n    lookaside: https://sigs.test/s\n",
        "docker:\n  reg.test: &a\n    x: &b {<<: *a}\n    <<: *b\n",
    ],
    ids=["namespaces", "namespace", "through-another"],
)
def test_a_mapping_merged_into_itself_is_an_error(tmp_path: Path, text: str) -> None:
    exc = _load(tmp_path, text)
    assert isinstance(exc, PolicyError), repr(exc)
    assert "contains itself" in str(exc)


def test_a_merge_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """9 levels of 9 merges each: 9**9 merged mappings if expanded."""
    exc = _load(tmp_path, _merge_bomb(9))
    assert isinstance(exc, PolicyError), repr(exc)
    assert "excessive aliasing" in str(exc)


def test_a_few_merges_are_fine(tmp_path: Path) -> None:
    """What a real file does with ``<<``: a shared base merged into several namespaces."""
    text = "base: &base {lookaside: https://sigs.test/s}\ndocker:\n" + "".join(
        f"  reg{i}.test:\n    <<: *base\n    use-sigstore-attachments: true\n" for i in range(200)
    )
    d = tmp_path / "registries.d"
    d.mkdir()
    (d / "sigs.yaml").write_text(text)
    conf = load_registries_d(d, env={"HOME": str(tmp_path)})
    assert len(conf.docker) == 200
    assert {ns.lookaside for ns in conf.docker.values()} == {"https://sigs.test/s"}

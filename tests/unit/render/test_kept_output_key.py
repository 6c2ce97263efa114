"""The key a bundle image's kept output text is stored under: every input that shapes the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render import pipeline

DIGEST = "sha256:" + "ab" * 32
REF = "registry.example/team/bundle:v1"


def test_the_key_changes_with_everything_that_shapes_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = pipeline._output_path(tmp_path, DIGEST, REF, "none", "json")
    others = {
        pipeline._output_path(tmp_path, "sha256:" + "cd" * 32, REF, "none", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF + "x", "none", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF, "bundle-object-to-csv-metadata", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF, "none", "yaml"),
    }
    # the rendering the text is made from: a new rendering format (rules fixed) means new texts
    monkeypatch.setattr(pipeline, "CACHE_FORMAT", pipeline.CACHE_FORMAT + "-next")
    others.add(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json"))
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "OUTPUT_FORMAT", pipeline.OUTPUT_FORMAT + "-next")
    others.add(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json"))
    assert len(others) == 6 and base not in others
    assert base.parent == tmp_path / "render" and base.name.endswith(".out.json")

"""bzip2 and xz layers pulled from a real registry, as podman pulls them.

containers/storage's ``archive.DecompressStream`` applies a layer in whatever compression its
magic says (containers/image's ``compression.DetectCompression`` knows the same ones), so an image
whose layers are bzip2 or xz, labelled ``tar+gzip`` or plain ``tar``, pulls with podman.  The pull
verifies the blob digest and the config's diff_id over the decompressed tar, as for any layer.
"""

from __future__ import annotations

import bz2
import lzma
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import regfix.oci as regfix_oci

import imgextract

pytestmark = pytest.mark.registry


def test_bzip2_and_xz_layers_pull_like_gzip(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    layers = []
    for name, compress, media_type in (
        ("bz", bz2.compress, regfix_oci.OCI_LAYER_GZIP),
        ("xz", lambda data: lzma.compress(data, format=lzma.FORMAT_XZ), regfix_oci.OCI_LAYER),
    ):
        tar = regfix_oci.build_tar([regfix_oci.File(f"{name}/hello.txt", f"hello from {name}\n")])
        layers.append(
            regfix_oci.Layer(
                tar=compress(tar),
                compression="none",
                media_type=media_type,
                diff_id=regfix_oci.sha256_digest(tar),
            )
        )
    image = push_image(registry, regfix_oci.ImageSpec(layers=layers), "compressions/app")
    result = imgextract.pull(
        image.ref,
        tmp_path / "out",
        all=True,
        insecure_registries=[registry.host],
        use_cache=False,
        env={"HOME": str(tmp_path)},
    )
    assert result.digest == image.digest
    assert (tmp_path / "out" / "bz" / "hello.txt").read_text() == "hello from bz\n"
    assert (tmp_path / "out" / "xz" / "hello.txt").read_text() == "hello from xz\n"

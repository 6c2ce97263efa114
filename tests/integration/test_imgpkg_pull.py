"""Pulling an imgpkg bundle through the product's pull pieces (Client, resolver, layer applier):
``.imgpkg/images.yml`` rewritten, nested bundles pulled flat, and the original registry never contacted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.bundles import detect
from imgextract.client import Client
from imgextract.imgpkg import copy_bundle, localize_pull
from imgextract.imgpkg.lock import ImagesLock
from imgextract.layers.applier import Limits
from imgextract.progress import NoProgress
from imgextract.pull.extract import extract
from imgextract.pull.resolve import ResolvedImage
from imgextract.reference import parse_reference
from tests.integration.test_imgpkg_copy import PASSWORD, USER, Creds, populate, world

regfix_registry = pytest.importorskip("regfix.registry")

pytestmark = [pytest.mark.registry]
if regfix_registry.registry_binary() is None:
    pytestmark.append(pytest.mark.skip(reason="docker-registry binary not installed"))


def test_recursive_pull_from_b_after_copy_with_a_stopped(tmp_path: Path) -> None:
    from imgextract.auth.credentials import Credentials

    reg_a = regfix_registry.start_registry(tmp_path / "a")
    try:
        with regfix_registry.start_registry(tmp_path / "b", tls=True, htpasswd={USER: PASSWORD}) as reg_b:
            creds = Creds({(reg_b.host, ""): Credentials(USER, PASSWORD)})
            w = world(reg_a.host, creds=creds, ca_file=reg_b.ca_file)
            own = populate(w.client_for(reg_a.host), reg_a.host)
            copy_bundle(own.outer, f"{reg_b.host}/team/dst", client_for=w.client_for)
            reg_a.stop()

            session = Client(
                ca_file=reg_b.ca_file,
                timeout=10,
                retries=0,
                creds=f"{USER}:{PASSWORD}",
                platform="linux/amd64",
                env={"HOME": str(tmp_path)},
            )
            image = session.resolve(parse_reference(f"{reg_b.host}/team/dst:bundle"))
            root = tmp_path / "out"
            root.mkdir()
            extract(image, detect.plan(image.config.labels), root, Limits(), NoProgress())

            def extract_into(img: ResolvedImage, dest: Path) -> None:
                extract(img, detect.plan(img.config.labels), dest, Limits(), NoProgress())

            report = localize_pull(
                root, image, recursive=True, resolve=session.resolve, extract_into=extract_into
            )
            assert report.relocation.via == "locations-image"
            b = f"{reg_b.host}/team/dst"
            top = ImagesLock.parse((root / ".imgpkg/images.yml").read_bytes())
            assert [i.image for i in top.images] == [
                f"{b}@{own.simple_digest}",
                f"{b}@{own.index.split('@')[1]}",
            ]
            assert [i.annotations["kbld.carvel.dev/id"] for i in top.images] == [
                own.inner.split("@")[0],
                own.index.split("@")[0],
            ]
            assert (root / "README.md").read_bytes() == b"outer\n"
            nested_dir = root / ".imgpkg/bundles" / own.simple_digest.replace(":", "-")
            assert [n.path for n in report.nested] == [str(nested_dir.relative_to(root))]
            nested = ImagesLock.parse((nested_dir / ".imgpkg/images.yml").read_bytes())
            assert [i.image for i in nested.images] == [f"{b}@{own.app.split('@')[1]}"]
            assert (nested_dir / "config/app.yml").read_bytes() == b"kind: ConfigMap\n"
            assert report.to_json()["nested"][0]["via"] == "locations-image"
    finally:
        reg_a.stop()

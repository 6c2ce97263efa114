"""An index whose ``manifests`` key is repeated (in other spellings too) chooses the image skopeo
chooses: encoding/json applies keys in document order, and containers/image (skopeo inspect, the
independent oracle here) ends with the last one.  Reading the same bytes any other way would make
one index two images for two tools.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from imgextract import oci
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")
from regfix.push import skopeo_binary  # noqa: E402

pytestmark = [pytest.mark.registry, pytest.mark.oracle]


def _image(name: str) -> Any:
    return regfix_oci.ImageSpec(
        layers=[regfix_oci.Layer([regfix_oci.File(f"{name}.txt", f"{name}\n")])],
        labels={"test.name": name},
        architecture="amd64",
    )


def test_a_repeated_manifests_key_chooses_what_skopeo_chooses(
    registry: Any, push_image: Callable[..., Any]
) -> None:
    repo = "oracle/repeated"
    pushed = {name: push_image(registry, _image(name), repo, name) for name in ("first", "second", "third")}

    def entry(name: str) -> str:
        digest = pushed[name].digest
        with RegistryClient(registry.host, TransportSettings(timeout=20.0), None, insecure=True) as client:
            size = len(client.get_manifest(repo, digest).raw)
        platform = {"architecture": "amd64", "os": "linux"}
        return json.dumps(
            {"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": size, "platform": platform}
        )

    raw = (
        '{"schemaVersion": 2, "mediaType": "%s", "manifests": [%s], "Manifests": [%s], "manifests": [%s]}'  # noqa: UP031
        % (oci.OCI_INDEX, entry("first"), entry("second"), entry("third"))
    ).encode()
    with RegistryClient(registry.host, TransportSettings(timeout=20.0), None, insecure=True) as client:
        client.put_manifest(repo, "index", raw, oci.OCI_INDEX)
        top = client.get_manifest(repo, "index")
        assert top.raw == raw  # served as written
        ours = oci.select_platform(
            oci.parse_index(top.raw, top.media_type), oci.Platform.parse("linux/amd64")
        )
    skopeo = skopeo_binary()
    assert skopeo is not None
    out = subprocess.run(
        [
            skopeo,
            "inspect",
            "--tls-verify=false",
            "--override-os",
            "linux",
            "--override-arch",
            "amd64",
            f"docker://{registry.host}/{repo}:index",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    theirs = json.loads(out.stdout)["Labels"]["test.name"]
    assert theirs == "third"
    assert ours.digest == pushed[theirs].digest


def test_a_manifest_with_an_empty_subject_pulls_as_in_skopeo(
    registry: Any, push_image: Callable[..., Any]
) -> None:
    """containers/image never validates ``subject`` for a pull: a manifest with ``"subject": {}``
    is inspected by skopeo, and read here."""
    repo = "oracle/subject"
    pushed = push_image(registry, _image("subject"), repo, "plain")
    with RegistryClient(registry.host, TransportSettings(timeout=20.0), None, insecure=True) as client:
        doc = json.loads(client.get_manifest(repo, pushed.digest).raw)
        doc["subject"] = {}
        raw = json.dumps(doc).encode()
        client.put_manifest(repo, "with-subject", raw, oci.OCI_MANIFEST)
        got = client.get_manifest(repo, "with-subject")
        manifest = oci.parse_manifest(got.raw, got.media_type)
    assert manifest.subject is None and manifest.layers
    skopeo = skopeo_binary()
    assert skopeo is not None
    out = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", f"docker://{registry.host}/{repo}:with-subject"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(out.stdout)["Labels"]["test.name"] == "subject"

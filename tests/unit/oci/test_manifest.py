from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError, NotFoundError

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def _manifest(**over: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": D1, "size": 10},
        "layers": [{"mediaType": oci.OCI_LAYER_GZIP, "digest": D2, "size": 20, "annotations": {"k": "v"}}],
    }
    doc.update(over)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def test_parse_oci_manifest() -> None:
    man = oci.parse_manifest(_manifest(), oci.OCI_MANIFEST)
    assert man.media_type == oci.OCI_MANIFEST
    assert man.config.digest == D1 and man.config.size == 10
    assert [layer.digest for layer in man.layers] == [D2]
    assert man.layers[0].annotations == {"k": "v"}


def test_oci_media_type_is_optional_in_body() -> None:
    man = oci.parse_manifest(_manifest(mediaType=None), None)
    assert man.media_type == oci.OCI_MANIFEST


def test_media_type_from_content_type_with_parameters() -> None:
    # (an OCI body: a Docker v2s2 body must name its own mediaType, see test_go_decoding)
    man = oci.parse_manifest(_manifest(mediaType=None), oci.OCI_MANIFEST + "; charset=utf-8")
    assert man.media_type == oci.OCI_MANIFEST


def test_body_and_content_type_disagree() -> None:
    with pytest.raises(IntegrityError, match="disagrees"):
        oci.parse_manifest(_manifest(), oci.DOCKER_MANIFEST)


@pytest.mark.parametrize("field", ["config", "layers"])
def test_missing_required_field(field: str) -> None:
    with pytest.raises(IntegrityError, match=field):
        oci.parse_manifest(_manifest(**{field: None}))


@pytest.mark.parametrize("key", ["mediaType", "digest", "size"])
def test_descriptor_missing_field(key: str) -> None:
    layer = {"mediaType": oci.OCI_LAYER, "digest": D2, "size": 1}
    del layer[key]
    with pytest.raises(IntegrityError, match=key):
        oci.parse_manifest(_manifest(layers=[layer]))


def test_descriptor_size_must_be_integer_not_bool() -> None:
    with pytest.raises(IntegrityError):
        oci.parse_manifest(_manifest(layers=[{"mediaType": oci.OCI_LAYER, "digest": D2, "size": True}]))
    with pytest.raises(IntegrityError):
        oci.parse_manifest(_manifest(layers=[{"mediaType": oci.OCI_LAYER, "digest": D2, "size": "3"}]))


def test_schema1_refused_with_clear_message() -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(IntegrityError, match="schema1"):
        oci.parse_manifest(raw)
    with pytest.raises(IntegrityError, match="schema1"):
        oci.sniff_media_type(b"{}", oci.DOCKER_SCHEMA1_SIGNED)


def test_wrong_schema_version() -> None:
    with pytest.raises(IntegrityError, match="schemaVersion"):
        oci.parse_manifest(_manifest(schemaVersion=3))


def test_not_json() -> None:
    with pytest.raises(IntegrityError, match="JSON"):
        oci.parse_manifest(b"\xff not json")


def test_index_is_not_a_manifest() -> None:
    raw = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    with pytest.raises(IntegrityError):
        oci.parse_manifest(raw)


def test_parse_index_with_platforms() -> None:
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.DOCKER_MANIFEST_LIST,
            "manifests": [
                {
                    "mediaType": oci.DOCKER_MANIFEST,
                    "digest": D1,
                    "size": 5,
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
                {
                    "mediaType": oci.DOCKER_MANIFEST,
                    "digest": D2,
                    "size": 6,
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
            ],
        }
    ).encode()
    index = oci.parse_index(raw, oci.DOCKER_MANIFEST_LIST)
    assert index.media_type == oci.DOCKER_MANIFEST_LIST
    assert [str(p) for p in index.platforms()] == ["linux/arm64/v8", "linux/amd64"]


def test_index_requires_manifests() -> None:
    with pytest.raises(IntegrityError, match="manifests"):
        oci.parse_index(json.dumps({"schemaVersion": 2}).encode())


@pytest.mark.parametrize("platform", [{"os": "linux"}, {"architecture": "amd64"}, {}, {"os": None}])
def test_an_index_entry_with_an_incomplete_platform_never_matches(platform: dict[str, object]) -> None:
    """containers/image decodes ``v1.Platform`` with Go's zero values for a missing ``os`` or
    ``architecture`` and ``ChooseInstance`` compares them as they are: such an entry matches no
    wanted platform, and the index stays usable for the others (it used to be refused whole)."""
    entries = [
        {"mediaType": oci.OCI_MANIFEST, "digest": D1, "size": 1, "platform": platform},
        {
            "mediaType": oci.OCI_MANIFEST,
            "digest": D2,
            "size": 1,
            "platform": {"os": "linux", "architecture": "amd64"},
        },
    ]
    index = oci.parse_index(json.dumps({"schemaVersion": 2, "manifests": entries}).encode())
    assert oci.select_platform(index, oci.Platform.parse("linux/amd64")).digest == D2
    alone = oci.parse_index(json.dumps({"schemaVersion": 2, "manifests": entries[:1]}).encode())
    with pytest.raises(NotFoundError, match=r"available: none\)"):
        oci.select_platform(alone, oci.Platform.parse("linux/amd64"))


def test_sniff_generic_content_type() -> None:
    assert oci.sniff_media_type(_manifest(mediaType=None), "application/json") == oci.OCI_MANIFEST
    assert (
        oci.sniff_media_type(json.dumps({"schemaVersion": 2, "manifests": []}).encode(), "") == oci.OCI_INDEX
    )
    assert oci.sniff_media_type(b"{}", oci.OCI_INDEX + ";x=y") == oci.OCI_INDEX


def test_non_distributable_types() -> None:
    assert oci.is_non_distributable(oci.DOCKER_FOREIGN_LAYER)
    assert oci.is_non_distributable(oci.OCI_LAYER_NONDISTRIBUTABLE_GZIP)
    assert not oci.is_non_distributable(oci.OCI_LAYER_GZIP)


def test_descriptor_round_trip() -> None:
    data = {
        "mediaType": oci.OCI_MANIFEST,
        "digest": D1,
        "size": 3,
        "urls": ["https://x/y"],
        "annotations": {"a": "b"},
        "platform": {"architecture": "arm", "os": "linux", "variant": "v7"},
    }
    assert oci.Descriptor.from_json(data).to_json() == data


def test_parse_config() -> None:
    raw = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"operators.operatorframework.io.bundle.package.v1": "etcd"}},
            "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
        }
    ).encode()
    cfg = oci.ImageConfig.parse(raw)
    assert cfg.labels == {"operators.operatorframework.io.bundle.package.v1": "etcd"}
    assert cfg.diff_ids == (D1, D2)
    assert str(cfg.platform) == "linux/amd64"


def test_config_null_labels_and_missing_rootfs() -> None:
    ok = json.dumps({"config": {"Labels": None}, "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    assert oci.parse_config(ok).labels == {}
    with pytest.raises(IntegrityError, match="rootfs"):
        oci.parse_config(json.dumps({"config": {}}).encode())
    with pytest.raises(IntegrityError, match="Labels"):
        oci.parse_config(json.dumps({"config": {"Labels": {"a": 1}}, "rootfs": {"diff_ids": []}}).encode())


def test_sniff_a_docker_manifest_without_media_type_by_its_config() -> None:
    """containers/image ``manifest.GuessMIMEType``: a schemaVersion 2 body without ``mediaType``
    is a Docker v2s2 manifest when its config is a Docker image config, an OCI manifest when the
    config is an OCI image config; only then do ``manifests`` and artifacts decide."""
    docker = _manifest(
        mediaType=None,
        config={"mediaType": oci.DOCKER_CONFIG, "digest": D1, "size": 10},
        layers=[{"mediaType": oci.DOCKER_LAYER, "digest": D2, "size": 20}],
    )
    for content_type in (None, "", "application/json", "text/plain; charset=utf-8"):
        assert oci.sniff_media_type(docker, content_type) == oci.DOCKER_MANIFEST
    # ... which containers/image's Schema2FromManifest then refuses: v2s2 names its mediaType
    with pytest.raises(IntegrityError, match="unsupported docker v2s2 media type"):
        oci.parse_manifest(docker, oci.sniff_media_type(docker, None))
    both = json.loads(_manifest(mediaType=None))
    both["manifests"] = [{"mediaType": oci.OCI_MANIFEST, "digest": D2, "size": 5}]
    assert oci.sniff_media_type(json.dumps(both).encode(), None) == oci.OCI_MANIFEST


@pytest.mark.parametrize("media_type", [5, True, {}, ["x"]])
@pytest.mark.parametrize("content_type", [None, "application/json", oci.OCI_MANIFEST, oci.OCI_INDEX])
def test_a_media_type_that_is_no_string_is_a_malformed_document(
    media_type: object, content_type: str
) -> None:
    """A hostile registry may serve ``"mediaType": 5``: the document is malformed (exit 5), as Go's
    decoder refuses a number for a string field; no reader stumbles over it (it reached the
    schema1 check, which split it as a string: an internal error, exit 1)."""
    from imgextract.cli.exits import exit_code_for
    from imgextract.oci.mediatypes import sniff_media_type

    raw = _manifest(mediaType=media_type)
    index = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": []}).encode()
    reads: list[Callable[[], object]] = [
        lambda: oci.parse_manifest(raw, content_type),
        lambda: oci.parse_index(index, content_type),
    ]
    if content_type not in (oci.OCI_MANIFEST, oci.OCI_INDEX):  # (else the body is not read)
        reads.append(lambda: sniff_media_type(raw, content_type))
    for read in reads:
        with pytest.raises(IntegrityError, match="'mediaType' must be a string") as exc:
            read()
        assert exit_code_for(exc.value) == 5

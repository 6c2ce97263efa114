"""Manifests, indexes, descriptors and configs are read as containers/image reads them: Go's
``encoding/json`` into the image-spec types (``specs-go/v1``).

Go matches a JSON key to a struct field exactly or else case-insensitively, the later key wins, and
a value of the wrong type anywhere in the document (a field the pull never uses included) makes the
whole document undecodable.  Reading the same bytes any other way would let one manifest mean two
things to two tools.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError, NotFoundError

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


def _layer(**over: Any) -> dict[str, Any]:
    layer: dict[str, Any] = {"mediaType": oci.OCI_LAYER_GZIP, "digest": D2, "size": 20}
    layer.update(over)
    return layer


def _manifest(layer: dict[str, Any] | None = None, **over: Any) -> bytes:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": D1, "size": 10},
        "layers": [layer if layer is not None else _layer()],
    }
    doc.update(over)
    return json.dumps(doc).encode()


def _index(entry: dict[str, Any]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [entry]}).encode()


def _config(**over: Any) -> bytes:
    doc: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"a": "b"}},
        "rootfs": {"type": "layers", "diff_ids": [D2]},
    }
    doc.update(over)
    return json.dumps(doc).encode()


def test_descriptor_fields_match_case_insensitively() -> None:
    """encoding/json ``Unmarshal`` into ``v1.Descriptor``: ``MediaType``, ``DIGEST`` and ``Size``
    fill the fields tagged ``mediaType``, ``digest`` and ``size``."""
    layer = {"MediaType": oci.OCI_LAYER_GZIP, "DIGEST": D2, "Size": 20, "Annotations": {"k": "v"}}
    man = oci.parse_manifest(_manifest(layer))
    assert (man.layers[0].media_type, man.layers[0].digest, man.layers[0].size) == (
        oci.OCI_LAYER_GZIP,
        D2,
        20,
    )
    assert man.layers[0].annotations == {"k": "v"}


def test_the_later_of_two_spellings_wins_as_in_go() -> None:
    """encoding/json: keys ``layers`` then ``Layers`` both fill ``v1.Manifest.Layers``; the last one
    read is what containers/image pulls, so it is what we pull (not the exact-case one)."""
    raw = (
        b'{"schemaVersion": 2, "config": {"mediaType": "%s", "digest": "%s", "size": 1},'
        b' "layers": [{"mediaType": "%s", "digest": "%s", "size": 1}],'
        b' "Layers": [{"mediaType": "%s", "digest": "%s", "size": 2}]}'
        % (
            oci.OCI_CONFIG.encode(),
            D1.encode(),
            oci.OCI_LAYER_GZIP.encode(),
            D1.encode(),
            oci.OCI_LAYER_GZIP.encode(),
            D2.encode(),
        )
    )
    man = oci.parse_manifest(raw)
    assert [(d.digest, d.size) for d in man.layers] == [(D2, 2)]


def test_index_platform_fields_match_case_insensitively() -> None:
    """``v1.Platform``: ``OS``, ``Architecture`` and ``Variant`` keys fill os/architecture/variant."""
    entry = {
        "mediaType": oci.OCI_MANIFEST,
        "digest": D1,
        "size": 1,
        "Platform": {"OS": "linux", "Architecture": "arm", "Variant": "v6"},
    }
    index = oci.parse_index(_index(entry))
    assert index.manifests[0].platform == oci.Platform("linux", "arm", "v6")


def test_config_labels_key_matches_case_insensitively() -> None:
    """``v1.ImageConfig.Labels`` (tag ``Labels``) is filled from ``labels`` too: podman and skopeo
    inspect see those labels, so the bundle kind they name is detected here as well."""
    raw = _config(
        Config={"labels": {"k": "v"}}, config=None, RootFS={"Type": "layers", "Diff_IDs": [D1]}, rootfs=None
    )
    cfg = oci.parse_config(raw)
    assert cfg.labels == {"k": "v"}
    assert cfg.diff_ids == (D1,)


@pytest.mark.parametrize("size", [2**63, 2**64, 10**30])
def test_size_past_int64_is_malformed(size: int) -> None:
    """``v1.Descriptor.Size`` is an int64: Go's decoder refuses a larger number."""
    with pytest.raises(IntegrityError, match="size"):
        oci.parse_manifest(_manifest(_layer(size=size)))


def test_largest_int64_size_is_accepted() -> None:
    assert oci.parse_manifest(_manifest(_layer(size=2**63 - 1))).layers[0].size == 2**63 - 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("urls", ""),
        ("urls", 0),
        ("urls", [1]),
        ("urls", {}),
        ("artifactType", 0),
        ("artifactType", []),
        ("data", 0),
        ("data", ["x"]),
        ("data", [256]),
        ("data", [-1]),
        ("data", [1.5]),
        ("data", "x"),  # not base64: Go's []byte decoding refuses it
        ("data", "YQ"),  # unpadded
        ("annotations", []),
        ("annotations", {"a": 1}),
        ("platform", "linux/amd64"),
        ("platform", {"os": "linux", "architecture": "amd64", "variant": 0}),
        ("platform", {"os": "linux", "architecture": "amd64", "variant": False}),
        ("platform", {"os": "linux", "architecture": "amd64", "os.version": []}),
        ("platform", {"os": "linux", "architecture": "amd64", "os.features": [1]}),
        ("platform", {"os": "linux", "architecture": "amd64", "os.features": ""}),
        ("platform", {"os": "linux", "architecture": "amd64", "os.features": {}}),
    ],
)
def test_mistyped_descriptor_fields_are_malformed(field: str, value: Any) -> None:
    """encoding/json into ``v1.Descriptor`` fails on a value of the wrong type in any field, one
    the pull never uses included, so containers/image refuses such a manifest or index."""
    with pytest.raises(IntegrityError, match=field):
        oci.parse_manifest(_manifest(_layer(**{field: value})))
    entry = _layer(mediaType=oci.OCI_MANIFEST, platform={"os": "linux", "architecture": "amd64"})
    entry[field] = value
    with pytest.raises(IntegrityError, match=field):
        oci.parse_index(_index(entry))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("data", "YWJj"),
        ("data", "YWI=\n"),
        ("data", None),
        ("data", [0, 255, None]),  # Go decodes a []byte from a list of uint8 too
        ("urls", None),
        ("artifactType", None),
        ("annotations", None),
        ("platform", None),
    ],
)
def test_well_typed_or_null_optional_fields_are_accepted(field: str, value: Any) -> None:
    """The image spec's ``data`` is base64 (Go's ``[]byte``: StdEncoding, line breaks skipped);
    ``null`` leaves any field at its zero value."""
    man = oci.parse_manifest(_manifest(_layer(**{field: value})))
    assert man.layers[0].digest == D2


@pytest.mark.parametrize(
    ("field", "value"),
    [("artifactType", 1), ("subject", "x"), ("subject", []), ("annotations", [])],
)
def test_mistyped_manifest_fields_are_malformed(field: str, value: Any) -> None:
    """``v1.Manifest``: ``artifactType`` a string, ``subject`` a descriptor object."""
    with pytest.raises(IntegrityError, match=field):
        oci.parse_manifest(_manifest(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("artifactType", 1), ("subject", "x"), ("subject", {"size": "x"})],
)
def test_mistyped_index_fields_are_malformed(field: str, value: Any) -> None:
    """``v1.Index`` (image-spec 1.1): ``artifactType`` a string, ``subject`` a descriptor."""
    entry = _layer(mediaType=oci.OCI_MANIFEST)
    raw = json.dumps({"schemaVersion": 2, "manifests": [entry], field: value}).encode()
    with pytest.raises(IntegrityError, match=field):
        oci.parse_index(raw)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"os": 0}, "os"),
        ({"architecture": []}, "architecture"),
        ({"variant": {}}, "variant"),
        ({"os.version": 1}, "os.version"),
        ({"os.features": "x"}, "os.features"),
        ({"author": 1}, "author"),
        ({"created": 0}, "created"),
        ({"config": []}, "config"),
        ({"config": {"User": 0}}, "User"),
        ({"config": {"Env": "A=1"}}, "Env"),
        ({"config": {"Entrypoint": [1]}}, "Entrypoint"),
        ({"config": {"Cmd": {}}}, "Cmd"),
        ({"config": {"WorkingDir": []}}, "WorkingDir"),
        ({"config": {"StopSignal": 9}}, "StopSignal"),
        ({"config": {"ArgsEscaped": "yes"}}, "ArgsEscaped"),
        ({"config": {"ExposedPorts": {"80/tcp": 1}}}, "ExposedPorts"),
        ({"config": {"Volumes": []}}, "Volumes"),
        ({"rootfs": {"type": 0, "diff_ids": [D2]}}, "type"),
        ({"history": "x"}, "history"),
        ({"history": [{"created_by": 1}]}, "created_by"),
        ({"history": [{"empty_layer": "true"}]}, "empty_layer"),
    ],
)
def test_mistyped_config_fields_are_malformed(over: dict[str, Any], field: str) -> None:
    """encoding/json into ``v1.Image`` (what podman's pull and umoci's unpack decode the config
    into) refuses a wrongly typed field anywhere in the config."""
    with pytest.raises(IntegrityError, match=field):
        oci.parse_config(_config(**over))


def test_well_typed_config_fields_are_accepted() -> None:
    raw = _config(
        created="2024-01-02T03:04:05Z",
        author="me",
        history=[{"created_by": "x", "empty_layer": True, "comment": None}],
        config={
            "Labels": {"a": "b"},
            "User": "1000",
            "Env": ["A=1"],
            "Cmd": None,
            "ExposedPorts": {"80/tcp": {}},
            "Volumes": {"/data": {}},
            "ArgsEscaped": True,
        },
    )
    assert oci.parse_config(raw).labels == {"a": "b"}


def _docker_manifest(layer_type: str, media_type: str | None = oci.DOCKER_MANIFEST) -> bytes:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"mediaType": oci.DOCKER_CONFIG, "digest": D1, "size": 10},
        "layers": [{"mediaType": layer_type, "digest": D2, "size": 20}],
    }
    if media_type is not None:
        doc["mediaType"] = media_type
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "layer_type",
    [
        oci.DOCKER_LAYER,
        oci.DOCKER_LAYER_UNCOMPRESSED,
        oci.DOCKER_FOREIGN_LAYER,
        "application/vnd.docker.image.rootfs.foreign.diff.tar",
    ],
)
def test_docker_manifest_layers_of_docker_types_are_accepted(layer_type: str) -> None:
    man = oci.parse_manifest(_docker_manifest(layer_type), oci.DOCKER_MANIFEST)
    assert man.layers[0].media_type == layer_type


@pytest.mark.parametrize("layer_type", [oci.OCI_LAYER_GZIP, oci.OCI_LAYER_ZSTD, "", "application/x-tar"])
def test_docker_manifest_layers_of_other_types_are_refused(layer_type: str) -> None:
    """containers/image ``Schema2FromManifest`` (``SupportedSchema2MediaType``): every layer of a
    Docker v2s2 manifest has a Docker media type; skopeo and podman refuse the manifest otherwise."""
    with pytest.raises(IntegrityError, match="unsupported docker v2s2 media type"):
        oci.parse_manifest(_docker_manifest(layer_type), oci.DOCKER_MANIFEST)


def test_docker_manifest_without_media_type_in_its_body_is_refused() -> None:
    """``Schema2FromManifest`` checks the body's ``mediaType``: without one (the Content-Type
    alone said v2s2) the manifest is refused, as distribution refuses to store it."""
    with pytest.raises(IntegrityError, match="unsupported docker v2s2 media type"):
        oci.parse_manifest(_docker_manifest(oci.DOCKER_LAYER, media_type=None), oci.DOCKER_MANIFEST)


def test_oci_manifest_layers_of_any_type_are_accepted() -> None:
    """containers/image no longer checks OCI layer media types when reading a manifest
    (``SupportedOCI1MediaType`` is deprecated: rejecting unknown types only hurts)."""
    raw = _manifest(_layer(mediaType="application/vnd.example.unknown"))
    assert oci.parse_manifest(raw).layers[0].media_type == "application/vnd.example.unknown"


EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.mark.parametrize(
    "media_type", [oci.OCI_EMPTY, "application/vnd.cncf.helm.config.v1+json", "application/json"]
)
def test_an_artifact_config_is_named_as_such(media_type: str) -> None:
    """image-spec "Guidelines for Artifact Usage": an artifact's config has its own media type (the
    empty descriptor ``{}`` at its least).  containers/image's ``OCI1.OCIConfig`` refuses such a
    config with ``NonImageArtifactError`` (podman: "unsupported image-specific operation on
    artifact with type ..."); the error here names the type instead of a missing ``rootfs``."""
    with pytest.raises(IntegrityError, match="artifact") as info:
        oci.parse_config(b"{}", media_type=media_type)
    assert media_type in str(info.value)
    assert "rootfs" not in str(info.value)


def test_an_image_config_type_keeps_the_field_error() -> None:
    for media_type in (oci.OCI_CONFIG, oci.DOCKER_CONFIG, None):
        with pytest.raises(IntegrityError, match="rootfs"):
            oci.parse_config(b"{}", media_type=media_type)


def test_an_artifact_config_that_is_an_image_config_is_read() -> None:
    """Only what fails to read as an image config is called an artifact: a config blob that is
    one reads as before whatever type its descriptor gives."""
    assert oci.parse_config(_config(), media_type="application/vnd.example+json").labels == {"a": "b"}


def test_the_empty_descriptor_is_a_valid_descriptor() -> None:
    """image-spec "Guidance for an Empty Descriptor": ``{}``, size 2, its digest, ``data`` ``e30=``."""
    desc = {"mediaType": oci.OCI_EMPTY, "digest": EMPTY, "size": 2, "data": "e30="}
    man = oci.parse_manifest(_manifest(config=desc, artifactType="application/vnd.example+type"))
    assert (man.config.media_type, man.config.digest, man.config.size) == (oci.OCI_EMPTY, EMPTY, 2)
    assert man.artifact_type == "application/vnd.example+type"


FUTURE = [
    "blake3:" + "c" * 64,
    "sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
]


def _two_platforms(other_digest: str) -> bytes:
    amd64 = _layer(mediaType=oci.OCI_MANIFEST, digest=D1, platform={"os": "linux", "architecture": "amd64"})
    arm64 = _layer(
        mediaType=oci.OCI_MANIFEST, digest=other_digest, platform={"os": "linux", "architecture": "arm64"}
    )
    return json.dumps({"schemaVersion": 2, "manifests": [arm64, amd64]}).encode()


@pytest.mark.parametrize("digest", FUTURE)
def test_an_index_entry_of_an_unknown_algorithm_does_not_spoil_the_index(digest: str) -> None:
    """image-spec descriptor.md: "Implementations SHOULD allow digests with unrecognized algorithms
    to pass validation if they comply with the above grammar" (go-digest ``DigestRegexp``), and
    containers/image only validates the digest of the entry it pulls."""
    index = oci.parse_index(_two_platforms(digest))
    assert oci.select_platform(index, oci.Platform.parse("linux/amd64")).digest == D1


@pytest.mark.parametrize("digest", FUTURE)
def test_choosing_an_entry_of_an_unknown_algorithm_is_an_integrity_error(digest: str) -> None:
    """go-digest ``Digest.Validate``: ``ErrDigestUnsupported`` before anything is fetched."""
    index = oci.parse_index(_two_platforms(digest))
    with pytest.raises(IntegrityError, match="unsupported digest algorithm"):
        oci.select_platform(index, oci.Platform.parse("linux/arm64"))


@pytest.mark.parametrize("digest", FUTURE)
def test_a_layer_or_config_of_an_unknown_algorithm_is_refused(digest: str) -> None:
    """A blob the pull must verify: an algorithm we cannot compute is refused with the manifest."""
    with pytest.raises(IntegrityError, match="digest"):
        oci.parse_manifest(_manifest(_layer(digest=digest)))
    with pytest.raises(IntegrityError, match="digest"):
        oci.parse_manifest(_manifest(config={"mediaType": oci.OCI_CONFIG, "digest": digest, "size": 1}))


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:../../etc/passwd",
        "blake3:a/b",
        "Blake3:" + "c" * 64,
        "blake3..x:" + "c" * 64,
        "blake3:",
        ":abc",
        "sha256:" + "A" * 64,  # a known algorithm's rules apply in full
        "sha256:" + "a" * 63,
        "blake3:abc def",
    ],
)
def test_an_index_entry_outside_the_digest_grammar_is_refused(digest: str) -> None:
    """descriptor.md's grammar (``algorithm ":" encoded``) bounds what an entry may hold; a known
    algorithm's encoded part must follow that algorithm's rules."""
    with pytest.raises(IntegrityError, match="digest"):
        oci.parse_index(_two_platforms(digest))


@pytest.mark.parametrize("rootfs_type", ["", "layers+base", "Layers", None])
def test_a_rootfs_type_other_than_layers_is_refused(rootfs_type: str | None) -> None:
    """image-spec config.md ``rootfs.type``: "MUST be set to ``layers``. Implementations MUST
    generate an error if they encounter a unknown value while verifying or unpacking an image"
    (umoci's unpack: "unsupported config.RootFS.Type").  Absent is Go's "", as unknown."""
    rootfs: dict[str, Any] = {"diff_ids": [D2]}
    if rootfs_type is not None:
        rootfs["type"] = rootfs_type
    with pytest.raises(IntegrityError, match="rootfs.type"):
        oci.parse_config(_config(rootfs=rootfs))


def _entry(media_type: str, digest: str) -> dict[str, Any]:
    return _layer(mediaType=media_type, digest=digest, platform={"os": "linux", "architecture": "amd64"})


@pytest.mark.parametrize("media_type", ["application/vnd.example.future+json", "", oci.OCI_LAYER_GZIP])
def test_an_index_entry_of_an_unknown_media_type_is_ignored(media_type: str) -> None:
    """image-index.md ``manifests[].mediaType``: "An encountered mediaType that is unknown to the
    implementation MUST be ignored" (containerd's ``images.Manifest`` walks only manifest and index
    children): the next entry for the platform is taken, and none left is "not found"."""
    raw = json.dumps(
        {"schemaVersion": 2, "manifests": [_entry(media_type, D2), _entry(oci.OCI_MANIFEST, D1)]}
    ).encode()
    assert oci.select_platform(oci.parse_index(raw), oci.Platform.parse("linux/amd64")).digest == D1
    alone = json.dumps({"schemaVersion": 2, "manifests": [_entry(media_type, D2)]}).encode()
    with pytest.raises(NotFoundError):
        oci.select_platform(oci.parse_index(alone), oci.Platform.parse("linux/amd64"))


@pytest.mark.parametrize("media_type", [oci.DOCKER_MANIFEST, oci.DOCKER_SCHEMA1_SIGNED, oci.OCI_INDEX])
def test_known_index_entry_types_stay_candidates(media_type: str) -> None:
    """Types we know stay candidates, those we know only to refuse (schema 1, a nested index)
    included, so the error names them rather than a missing platform."""
    raw = json.dumps({"schemaVersion": 2, "manifests": [_entry(media_type, D2)]}).encode()
    assert oci.select_platform(oci.parse_index(raw), oci.Platform.parse("linux/amd64")).digest == D2


def test_a_mistyped_key_is_an_error_even_when_a_later_key_names_the_field_again() -> None:
    """encoding/json decodes every key in turn and reports the first type mismatch after the
    object is read: ``{"Env": 5, "env": ["A=1"]}`` fails although the later key is well typed."""
    with pytest.raises(IntegrityError, match="Env"):
        oci.parse_config(_config(config={"Env": 5, "env": ["A=1"], "Labels": {}}))
    layers = [_layer()]
    raw = json.loads(_manifest())
    raw["LAYERS"], raw["layers"] = "x", layers
    with pytest.raises(IntegrityError, match="layers"):
        oci.parse_manifest(json.dumps(raw).encode())


def test_media_type_sniffing_matches_keys_as_go_does() -> None:
    """containers/image ``manifest.GuessMIMEType`` decodes ``mediaType``, ``config.mediaType`` and
    ``manifests`` into Go structs, so ``MediaType``, ``Config`` and ``Manifests`` count too."""
    assert oci.sniff_media_type(json.dumps({"schemaVersion": 2, "MediaType": oci.OCI_INDEX}).encode()) == (
        oci.OCI_INDEX
    )
    docker = {"SchemaVersion": 2, "Config": {"MediaType": oci.DOCKER_CONFIG}}
    assert oci.sniff_media_type(json.dumps(docker).encode()) == oci.DOCKER_MANIFEST
    assert oci.sniff_media_type(json.dumps({"schemaVersion": 2, "Manifests": []}).encode()) == oci.OCI_INDEX


def test_an_artifact_is_named_by_its_artifact_type_first() -> None:
    """containers/image ``NewNonImageArtifactError``: the manifest's ``artifactType`` when set (it
    is "typically more relevant": the config may be the empty descriptor), else the config's type,
    in ``NonImageArtifactError``'s words."""
    with pytest.raises(IntegrityError) as info:
        oci.parse_config(
            b"{}", media_type=oci.OCI_EMPTY, artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json"
        )
    assert (
        'unsupported image-specific operation on artifact with type "application/vnd.dev.sigstore.bundle.v0.3+json"'
        in str(info.value)
    )
    with pytest.raises(IntegrityError) as info:
        oci.parse_config(b"{}", media_type=oci.OCI_EMPTY)
    assert f'unsupported image-specific operation on artifact with type "{oci.OCI_EMPTY}"' in str(info.value)

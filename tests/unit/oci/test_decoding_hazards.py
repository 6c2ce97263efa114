"""Hostile manifests, indexes, configs and platforms against the Go-style decoders.

Each test names the upstream behaviour it pins (encoding/json's ``decodeState.object``, containerd's
``platformVector``, containers/image's ``validateUnambiguousManifestFormat``) or the hazard (a
parser differential, unbounded work, an exception that is no IntegrityError).  The JSON is written
out as text where a repeated key matters: ``json.dumps`` cannot produce one.
"""

from __future__ import annotations

import itertools
import json

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError
from imgextract.oci import jsontext

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
D3 = "sha256:" + "c" * 64


def _obj(*pairs: tuple[str, str]) -> str:
    """A JSON object from (key, JSON text of the value) pairs, keys repeated as given."""
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"


def _entry(digest: str, arch: str = "amd64", variant: str | None = None) -> str:
    platform = {"os": "linux", "architecture": arch}
    if variant is not None:
        platform["variant"] = variant
    return json.dumps({"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": 10, "platform": platform})


def _config_desc() -> str:
    return json.dumps({"mediaType": oci.OCI_CONFIG, "digest": D1, "size": 10})


def _layer(digest: str) -> str:
    return json.dumps({"mediaType": oci.OCI_LAYER_GZIP, "digest": digest, "size": 10})


def _manifest(*layers: str, **extra: str) -> bytes:
    pairs = [("schemaVersion", "2"), ("config", _config_desc()), ("layers", f"[{', '.join(layers)}]")]
    return _obj(*pairs, *extra.items()).encode()


def _str(value: str) -> str:
    return json.dumps(value)


# --- repeated keys: encoding/json decodeState.object reads every key in document order ---------


def test_a_key_repeated_after_another_spelling_wins_as_in_go() -> None:
    """encoding/json ``decodeState.object``: keys are applied in document order, so in
    ``{"manifests": A, "Manifests": B, "manifests": C}`` the field ends as C.  Python's dict keeps
    a repeated key at its first position (with its last value), which would make B the last
    spelling: the same index would choose another image here than in skopeo."""
    raw = _obj(
        ("schemaVersion", "2"),
        ("manifests", f"[{_entry(D1)}]"),
        ("Manifests", f"[{_entry(D2)}]"),
        ("manifests", f"[{_entry(D3)}]"),
    ).encode()
    chosen = oci.select_platform(oci.parse_index(raw), oci.Platform.parse("linux/amd64"))
    assert chosen.digest == D3


def test_a_repeated_manifest_field_ends_with_its_last_occurrence() -> None:
    """The same for a manifest's ``layers`` and a descriptor's ``digest``: the last key in the
    document decides, whatever spellings come between."""
    raw = _obj(
        ("schemaVersion", "2"),
        ("config", _config_desc()),
        ("layers", f"[{_layer(D1)}]"),
        ("LAYERS", f"[{_layer(D2)}]"),
        ("layers", f"[{_layer(D3)}]"),
    ).encode()
    assert [layer.digest for layer in oci.parse_manifest(raw).layers] == [D3]
    layer = _obj(
        ("mediaType", _str(oci.OCI_LAYER_GZIP)),
        ("digest", _str(D1)),
        ("Digest", _str(D2)),
        ("digest", _str(D3)),
        ("size", "1"),
    )
    raw = _manifest(layer)
    assert oci.parse_manifest(raw).layers[0].digest == D3


def test_a_repeated_config_label_map_ends_with_its_last_occurrence() -> None:
    """``v1.ImageConfig.Labels`` from ``{"Labels": A, "labels": B, "Labels": C}`` is C."""
    raw = (
        b'{"rootfs": {"type": "layers", "diff_ids": []}, '
        b'"config": {"Labels": {"k": "1"}, "labels": {"k": "2"}, "Labels": {"k": "3"}}}'
    )
    assert oci.parse_config(raw).labels == {"k": "3"}


def test_a_mistyped_value_under_a_key_repeated_later_is_malformed() -> None:
    """encoding/json records the type error of ``"size": "x"`` and reports it after the object,
    even though ``"size": 1`` follows: skopeo refuses the document, so must we (Python's dict
    drops the first value before anything can check it)."""
    layer = _obj(
        ("mediaType", _str(oci.OCI_LAYER_GZIP)),
        ("digest", _str(D2)),
        ("size", '"x"'),
        ("size", "2"),
        ("size", "1"),
    )
    raw = _manifest(layer)
    with pytest.raises(IntegrityError, match="size"):
        oci.parse_manifest(raw)
    raw = b'{"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Env": 5, "Env": ["A=1"]}}'
    with pytest.raises(IntegrityError, match="Env"):
        oci.parse_config(raw)


def test_a_distinctive_field_nulled_by_its_last_occurrence_is_not_ambiguous() -> None:
    """containers/image ``validateUnambiguousManifestFormat`` decodes into ``*any`` fields:
    ``{"config": null, "Config": {...}, "config": null}`` leaves ``config`` nil, so an index with
    it is not ambiguous."""
    raw = _obj(
        ("schemaVersion", "2"),
        ("manifests", f"[{_entry(D1)}]"),
        ("config", "null"),
        ("Config", _config_desc()),
        ("config", "null"),
    ).encode()
    assert oci.parse_index(raw).manifests[0].digest == D1


# --- key folding: Go's foldName folds a rune only within its simple case-folding orbit ----------


@pytest.mark.parametrize("key", ["conﬁg", "manifeﬆs"])
def test_a_key_that_only_full_case_folding_maps_onto_a_field_names_nothing(key: str) -> None:
    """encoding/json ``foldName`` folds each rune to the smallest of its simple folding orbit:
    the ligatures U+FB01 (fi) and U+FB06 (st) stay themselves, so ``conﬁg`` is no ``config`` to
    Go.  Python's ``str.casefold`` expands them, which would call these documents ambiguous."""
    doc = _obj(("schemaVersion", "2"), ("manifests", f"[{_entry(D1)}]"), (key, f"[{_config_desc()}]"))
    assert oci.parse_index(doc.encode()).manifests[0].digest == D1
    manifest = _manifest(**{key: f"[{_entry(D1)}]"})
    assert oci.parse_manifest(manifest).config.digest == D1


def test_kelvin_sign_and_long_s_still_fold_onto_ascii() -> None:
    """encoding/json: U+212A folds to ``K`` and U+017F to ``S`` (their simple folding orbits hold
    the ASCII letter), so ``ſize`` fills ``size`` and ``Wor\u212aingDir`` is ``WorkingDir``."""
    layer = _obj(("mediaType", _str(oci.OCI_LAYER_GZIP)), ("digest", _str(D2)), ("\u017fize", "7"))
    raw = _manifest(layer)
    assert oci.parse_manifest(raw).layers[0].size == 7
    raw = b'{"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Wor\\u212aingDir": 5}}'
    with pytest.raises(IntegrityError, match="WorkingDir"):
        oci.parse_config(raw)


# --- base64 ``data``: validity decided at C speed ------------------------------------------------


def test_base64_validity_agrees_with_the_exact_decoder() -> None:
    """Hazard: a descriptor's ``data`` of megabytes of near-base64 sent every byte through the
    exact (pure Python) decoder just to learn it is invalid.  The quick validity check must accept
    exactly what Go's ``StdEncoding`` (the exact decoder) accepts, for every short input."""
    for n in range(9):
        for chars in itertools.product(b"A=\n!", repeat=n):
            data = bytes(chars)
            try:
                jsontext.go_base64_decode(data)
                exact = True
            except ValueError:
                exact = False
            assert jsontext.go_base64_valid(data) is exact, data


def test_a_large_invalid_data_field_is_refused() -> None:
    """``data`` of 1 MiB of base64 characters that is not whole quantums is malformed."""
    layer = {"mediaType": oci.OCI_LAYER_GZIP, "digest": D2, "size": 10, "data": "A" * (1 << 20) + "A"}
    raw = _manifest(json.dumps(layer))
    with pytest.raises(IntegrityError, match="data"):
        oci.parse_manifest(raw)


# --- platform variants: containerd platformVector within bounds ------------------------------


@pytest.mark.parametrize("spec", ["linux/amd64/v999999999999999999", "linux/arm/v99999999999"])
def test_a_huge_variant_level_does_not_build_a_huge_fallback_list(spec: str) -> None:
    """containerd ``platformVector`` lists every lower level; for ``amd64/v999999999999999999``
    that is a list no machine can hold (MemoryError, or minutes of CPU for v9999999).  The fallback
    stops at a bounded number of levels, still taking the most capable variant an index offers."""
    platform = oci.Platform.parse(spec)
    compatible = platform.compatible()
    assert 1 < len(compatible) <= 64
    arch = platform.architecture
    lowest = "" if arch == "amd64" else "v5"
    assert compatible[-1].variant == lowest


def test_a_huge_variant_level_still_takes_the_best_offered_variant() -> None:
    """``amd64/v1000000`` runs amd64/v3 images, preferred to v2 (containerd's order)."""
    entries = f"[{_entry(D1, variant='v2')}, {_entry(D2, variant='v3')}]"
    raw = _obj(("schemaVersion", "2"), ("manifests", entries)).encode()
    chosen = oci.select_platform(oci.parse_index(raw), oci.Platform.parse("linux/amd64/v1000000"))
    assert chosen.digest == D2


@pytest.mark.parametrize("digit", ["\u00b2", "\u0663"])  # superscript two, Arabic-Indic three
def test_a_non_ascii_digit_variant_is_no_internal_error(digit: str) -> None:
    """Hazard: ``str.isdigit`` is true for superscripts and other scripts' digits, which ``int``
    refuses (ValueError, an internal error) or reads as a level; containerd's ``strconv.Atoi``
    knows ASCII digits only.  A library caller's ``Platform("linux", "arm64", "v8.²")`` is read
    as any other unknown minor version (``v8.x``), no crash."""
    for major in ("v8", "v9"):
        odd = oci.Platform("linux", "arm64", f"{major}.{digit}").compatible()
        plain = oci.Platform("linux", "arm64", f"{major}.x").compatible()
        assert [p.variant for p in odd[1:]] == [p.variant for p in plain[1:]]


def test_each_offered_platform_is_normalised_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hazard: choosing walked every compatible variant against every entry, normalising both
    platforms each time: a 4 MiB index of 20,000 entries and ``arm64/v9.7`` (21 variants) cost
    about a second of CPU, ``amd64/v32`` two.  Each platform is normalised once now (behaviour
    counted, not timed: calls of containerd's ``normalizeArch``)."""
    from imgextract.oci import platform as platform_module
    from imgextract.pull.variants import platform_variants

    entries = ", ".join(_entry(f"sha256:{i:064x}", arch="s390x") for i in range(200))
    index = oci.parse_index(
        _obj(("schemaVersion", "2"), ("manifests", f"[{entries}, {_entry(D1, 'arm64')}]")).encode()
    )
    wanted = oci.Platform.parse("linux/arm64/v9.7")
    candidates = len(wanted.compatible())
    calls = 0
    original = platform_module._normalize_arch

    def counting(arch: str, variant: str) -> tuple[str, str]:
        nonlocal calls
        calls += 1
        return original(arch, variant)

    monkeypatch.setattr(platform_module, "_normalize_arch", counting)
    assert oci.select_platform(index, wanted).digest == D1
    assert calls <= 201 + candidates + 1
    calls = 0
    assert platform_variants(index, wanted) is None
    assert calls <= 201 + candidates + 1


# --- subject: decoded, never required to be usable ----------------------------------------------


@pytest.mark.parametrize(
    "subject",
    ["{}", '{"mediaType": "application/vnd.oci.image.manifest.v1+json"}', '{"digest": "foo", "size": -1}'],
)
def test_an_incomplete_subject_does_not_spoil_the_document(subject: str) -> None:
    """containers/image decodes ``subject`` into a ``*v1.Descriptor`` and never validates it for a
    pull (``OCI1FromManifest``, ``OCI1IndexPublicFromManifest``): ``"subject": {}`` pulls, as it
    did here before the Go-style decoding (which then asked the subject for every required field)."""
    manifest = oci.parse_manifest(_manifest(_layer(D2), subject=subject))
    assert manifest.subject is None and manifest.layers[0].digest == D2
    index = _obj(("schemaVersion", "2"), ("manifests", f"[{_entry(D1)}]"), ("subject", subject))
    assert oci.parse_index(index.encode()).manifests[0].digest == D1


@pytest.mark.parametrize(
    "subject", ['{"size": "x"}', '{"annotations": {"a": 1}}', '{"platform": {"os": 5}}', '"sha256:x"']
)
def test_a_mistyped_subject_is_still_malformed(subject: str) -> None:
    """encoding/json fails on a mistyped field anywhere, inside ``subject`` too."""
    with pytest.raises(IntegrityError, match="subject|platform"):
        oci.parse_manifest(_manifest(_layer(D2), subject=subject))


def test_a_complete_subject_is_kept() -> None:
    subject = json.dumps({"mediaType": oci.OCI_MANIFEST, "digest": D3, "size": 5})
    manifest = oci.parse_manifest(_manifest(_layer(D2), subject=subject))
    assert manifest.subject is not None and manifest.subject.digest == D3


# --- labels of any config: imgpkg's IsBundle reads labels, never asks for an image --------------


@pytest.mark.parametrize(
    "config",
    [
        b'{"name": "chart", "version": "1.0.0", "apiVersion": "v2"}',  # a Helm chart's config
        b"{}",  # the OCI empty config
        b'{"config": {"Labels": {"a": "b"}}, "rootfs": {"diff_ids": []}}',  # no rootfs.type
        b'{"config": {"Labels": {"a": "b"}}, "rootfs": {"type": "layers+base", "diff_ids": []}}',
    ],
)
def test_config_labels_do_not_need_an_image_config(config: bytes) -> None:
    """imgpkg ``Bundle.IsBundle`` decodes any referenced image's config with go-containerregistry's
    ``ConfigFile`` and looks for the bundle label: a Helm chart, an empty config or a config without
    ``rootfs.type`` is no bundle, not an error (``imgpkg copy`` of a bundle listing one copies it)."""
    labels = oci.config_labels(config)
    assert labels == ({"a": "b"} if b"Labels" in config else {})


@pytest.mark.parametrize(
    "config",
    [
        b'{"config": {"Labels": {"a": 1}}}',
        b'{"config": {"Env": "x"}}',
        b"[]",
        b'{"history": [1]}',
        b'{"rootfs": {"diff_ids": 5}}',
    ],
)
def test_config_labels_of_a_mistyped_config_are_malformed(config: bytes) -> None:
    """Go's decoder still fails on a mistyped field (``ConfigFile.Config.Labels`` is a
    ``map[string]string``, ``Env`` a ``[]string``)."""
    with pytest.raises(IntegrityError):
        oci.config_labels(config)


@pytest.mark.parametrize("value", [oci.Platform("linux", "amd64"), 5, None, ["linux/amd64"]])
def test_a_platform_that_is_no_string_is_a_usage_error(value: object) -> None:
    """Hazard: ``Client(platform=oci.Platform(...))`` (the library exports the type) or any other
    non-string ended in AttributeError, an internal error; it is a usage error naming the form."""
    from imgextract.errors import UsageError

    with pytest.raises(UsageError, match="os/arch"):
        oci.Platform.parse(value)  # type: ignore[arg-type]
    if value is not None:  # (None: the host's platform)
        import imgextract

        with pytest.raises(UsageError, match="os/arch"):
            imgextract.Client(platform=value)  # type: ignore[arg-type]

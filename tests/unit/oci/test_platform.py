from __future__ import annotations

import pytest

from imgextract import oci
from imgextract.errors import NotFoundError, UsageError
from imgextract.oci.platform import host_architecture


def _index(*platforms: oci.Platform | None) -> oci.Index:
    return oci.Index(
        media_type=oci.OCI_INDEX,
        manifests=tuple(
            oci.Descriptor(media_type=oci.OCI_MANIFEST, digest=f"sha256:{i:064x}", size=1, platform=p)
            for i, p in enumerate(platforms)
        ),
    )


def test_parse() -> None:
    assert oci.Platform.parse("linux/arm64/v8") == oci.Platform("linux", "arm64", "v8")
    assert oci.Platform.parse("linux/amd64") == oci.Platform("linux", "amd64")


@pytest.mark.parametrize(
    "text",
    [
        "linux/",
        "/amd64",
        "a/b/c/d",
        "",
        "/linux/arm",
        "linux/arm/",
        "linux /arm",
        "linux/&arm",
        "linux/arm/foo/bar",
    ],
)
def test_parse_invalid(text: str) -> None:
    """containerd ``TestParseSelectorInvalid`` (empty, leading or trailing slash, spaces, an
    invalid character, too many components), and this project's own malformed cases."""
    with pytest.raises(UsageError):
        oci.Platform.parse(text)


HOST = host_architecture()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arm", "linux/arm"),
        ("armel", "linux/arm/v6"),
        ("armhf", "linux/arm"),
        ("Aarch64", "linux/arm64"),
        ("x86_64", "linux/amd64"),
        ("i386", "linux/386"),
        ("s390x", "linux/s390x"),
        ("linux", f"linux/{HOST}"),
        ("macOS", f"darwin/{HOST}"),
        ("windows", f"windows/{HOST}"),
    ],
)
def test_one_part_specifiers_name_an_os_or_an_architecture(text: str, expected: str) -> None:
    """containerd ``TestParseSelector``: a specifier of one part is an operating system Go knows
    (the host's architecture is implied) or else an architecture Go knows, normalised (the host's
    operating system, linux here, is implied).  ``platforms.Format`` of the result is ``expected``
    (Go's spelling: arm/v7 and arm64/v8 without the variant)."""
    got = oci.Platform.parse(text)
    assert str(got) == expected
    assert got.matches(oci.Platform.parse(expected))


@pytest.mark.parametrize("text", ["foo", "linuxx", "amd65"])
def test_one_part_naming_no_known_os_or_architecture_is_refused(text: str) -> None:
    """containerd ``platforms.Parse``: "unknown operating system or architecture"."""
    with pytest.raises(UsageError, match="unknown operating system or architecture"):
        oci.Platform.parse(text)


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("linux/arm64", ["linux/aarch64", "linux/aarch64/v8", "linux/arm64/v8"]),
        ("linux/arm64/v8", ["linux/aarch64", "linux/aarch64/v8", "linux/arm64"]),
        ("linux/arm", ["linux/arm/v7", "linux/armhf", "linux/arm/7"]),
        ("linux/arm/v6", ["linux/armel"]),
        ("linux/arm/v7", ["linux/arm", "linux/armhf"]),
        ("Linux/x86_64", ["linux/amd64"]),
    ],
)
def test_containerd_selector_matches(text: str, matching: list[str]) -> None:
    """containerd ``TestParseSelector``'s ``matches`` column: the platforms each specifier's
    matcher (``NewMatcher``, normalised on both sides) accepts."""
    wanted = oci.Platform.parse(text)
    for other in matching:
        os_name, arch, *variant = other.split("/")
        assert wanted.matches(oci.Platform(os_name, arch, variant[0] if variant else "")), other


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm64", oci.Platform("linux", "arm64", "v8")),
        ("linux/arm64/v8", oci.Platform("linux", "arm64")),
        ("linux/aarch64", oci.Platform("linux", "arm64", "v8")),
        ("linux/x86_64", oci.Platform("linux", "amd64")),
        ("linux/arm", oci.Platform("linux", "arm", "v7")),
        ("linux/armhf", oci.Platform("linux", "arm", "v7")),
        ("Linux/AMD64", oci.Platform("linux", "amd64")),
    ],
)
def test_normalised_match(want: str, have: oci.Platform) -> None:
    assert oci.Platform.parse(want).matches(have)


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm/v6", oci.Platform("linux", "arm", "v7")),
        ("linux/amd64", oci.Platform("linux", "arm64")),
        ("linux/amd64", oci.Platform("windows", "amd64")),
        ("linux/arm64/v9", oci.Platform("linux", "arm64")),
    ],
)
def test_no_match(want: str, have: oci.Platform) -> None:
    assert not oci.Platform.parse(want).matches(have)


def test_select_first_matching_entry() -> None:
    index = _index(
        None,
        oci.Platform("linux", "amd64"),
        oci.Platform("linux", "arm64", "v8"),
        oci.Platform("linux", "arm64"),
    )
    assert oci.select_platform(index, oci.Platform.parse("linux/arm64")) is index.manifests[2]
    assert oci.select_platform(index, oci.Platform.parse("linux/amd64")) is index.manifests[1]


def test_select_absent_lists_available() -> None:
    index = _index(
        oci.Platform("linux", "amd64"), oci.Platform("linux", "s390x"), oci.Platform("unknown", "unknown")
    )
    with pytest.raises(NotFoundError) as info:
        oci.select_platform(index, oci.Platform.parse("linux/ppc64le"))
    message = str(info.value)
    assert 'no image found in image index for architecture "ppc64le", variant "", OS "linux"' in message
    assert "linux/amd64, linux/s390x" in message
    assert "unknown" not in message


def test_no_match_in_a_docker_list_says_manifest_list() -> None:
    """containers/image ``Schema2List.ChooseInstance``: "no image found in manifest list for
    architecture %q, variant %q, OS %q" (the wanted platform as given)."""
    index = oci.Index(
        media_type=oci.DOCKER_MANIFEST_LIST, manifests=_index(oci.Platform("linux", "amd64")).manifests
    )
    with pytest.raises(
        NotFoundError, match='in manifest list for architecture "arm", variant "v6", OS "linux"'
    ):
        oci.select_platform(index, oci.Platform.parse("linux/arm/v6"))


ARM = {v: oci.Platform("linux", "arm", v) for v in ("v5", "v6", "v7", "v8")}


@pytest.mark.parametrize(
    ("want", "offered", "chosen"),
    [
        ("linux/arm/v7", ("v6", "v5"), "v6"),  # no v7: the most capable compatible variant
        ("linux/arm", ("v5", "v6"), "v6"),  # linux/arm means v7, as in containerd
        ("linux/arm/v8", ("v5", "v7"), "v7"),
        ("linux/arm/v7", ("v6", "v7"), "v7"),  # an exact entry wins wherever it is
        ("linux/arm/v6", ("v7", "v5"), "v5"),
    ],
)
def test_arm_variants_fall_back_to_older_compatible_ones(
    want: str, offered: tuple[str, ...], chosen: str
) -> None:
    """containerd ``platforms.Only`` (and containers/image ``WantedPlatforms``' compatibility list):
    an arm/vN machine runs vN-1 ... v5 images, so an index lacking vN still serves it, the newest
    compatible variant first."""
    index = _index(*(ARM[v] for v in offered))
    got = oci.select_platform(index, oci.Platform.parse(want))
    assert got.platform == ARM[chosen]


@pytest.mark.parametrize(("want", "offered"), [("linux/arm/v6", ("v7", "v8")), ("linux/arm/v5", ("v6",))])
def test_arm_variants_never_fall_forward(want: str, offered: tuple[str, ...]) -> None:
    """A newer variant needs instructions the wanted machine may lack: never chosen."""
    with pytest.raises(NotFoundError):
        oci.select_platform(_index(*(ARM[v] for v in offered)), oci.Platform.parse(want))


def _offer(*platforms: str) -> oci.Index:
    return _index(*(oci.Platform.parse(p) for p in platforms))


@pytest.mark.parametrize(
    ("want", "offered", "chosen"),
    [
        ("linux/amd64/v3", ("linux/amd64",), 0),  # v1, the baseline, is spelled without a variant
        ("linux/amd64/v3", ("linux/amd64/v1",), 0),
        ("linux/amd64/v4", ("linux/amd64", "linux/amd64/v2"), 1),  # the most capable older level
        ("linux/x86_64/v2", ("linux/amd64",), 0),
        ("linux/amd64/v3", ("linux/amd64/v3", "linux/amd64/v2"), 0),
        ("linux/arm64/v8.2", ("linux/arm64/v8.1", "linux/arm64"), 0),
        ("linux/arm64/v8.2", ("linux/arm64",), 0),
        ("linux/arm64/v9", ("linux/arm64",), 0),
        ("linux/arm64/v9.1", ("linux/arm64/v8.6", "linux/arm64/v9"), 1),  # v9.x runs v9.0 ... first
        ("linux/arm64/v9.1", ("linux/arm64/v8.5", "linux/arm64/v8.7"), 0),  # ... then v8.(x+5) down
        ("linux/arm/v9", ("linux/arm/v5", "linux/arm/v8"), 1),
    ],
)
def test_older_variants_of_amd64_and_arm64_serve_newer_machines(
    want: str, offered: tuple[str, ...], chosen: int
) -> None:
    """containerd ``platforms.Only`` (``platformVector``): amd64/vN also runs amd64/vN-1 ... v1
    images, arm64/v8.x runs v8.x-1 ... v8, arm64/v9.x runs v9.x-1 ... v9 and then v8.x+5 ... v8,
    arm/vN runs vN-1 ... v5.  containers/image ``WantedPlatforms`` agrees where it has a rule (it
    always tries the variant-less entry after the wanted one)."""
    index = _offer(*offered)
    assert oci.select_platform(index, oci.Platform.parse(want)) is index.manifests[chosen]


@pytest.mark.parametrize(
    ("want", "offered"),
    [
        ("linux/amd64", ("linux/amd64/v2",)),  # never a newer level
        ("linux/amd64/v2", ("linux/386",)),  # nor another architecture (containerd alone falls to 386)
        ("linux/arm64", ("linux/arm/v7",)),  # (containerd alone falls back to 32-bit arm)
        ("linux/arm64", ("linux/arm64/v8.1",)),
        ("linux/arm64/v8.1", ("linux/arm64/v8.2",)),
        ("linux/arm64", ("linux/arm64/v8.0",)),  # v8.0 is not normalised to v8 by containerd
        ("linux/arm64/v9", ("linux/arm64/v8.6",)),  # v9.0 runs v8.5 at most
    ],
)
def test_no_newer_variant_and_no_other_architecture(want: str, offered: tuple[str, ...]) -> None:
    """containerd ``platforms.Only`` never walks up a variant chain; like containers/image's
    ``WantedPlatforms``, a pull here never takes another architecture (amd64 -> 386, arm64 -> arm)."""
    with pytest.raises(NotFoundError):
        oci.select_platform(_offer(*offered), oci.Platform.parse(want))


@pytest.mark.parametrize(
    "text",
    [
        "linux/&arm",
        "*/arm64",
        "linux/*",
        "linux /arm",
        "linux/arm64/v8 x",
        "linux/amd64:10.0",
        "windows(10.0)/amd64",
    ],
)
def test_platform_components_outside_containerds_specifier_grammar_are_usage_errors(text: str) -> None:
    """containerd ``platforms.Parse``: the os matches ``[A-Za-z0-9_-]+`` and the architecture and
    variant ``[A-Za-z0-9_.-]+`` (``specifierRe``); wildcards are refused.  Such text can never name
    an index entry, so it is a usage error (exit 2) rather than a platform not found (exit 4)."""
    with pytest.raises(UsageError, match="invalid platform"):
        oci.Platform.parse(text)


@pytest.mark.parametrize(
    "text",
    ["linux/arm64/v8.2", "linux/amd64/v3", "Linux/AMD64", "linux/x86_64", "linux/x86-64", "linux/arm_x/v7"],
)
def test_platform_components_inside_the_grammar_parse(text: str) -> None:
    assert str(oci.Platform.parse(text)) == text


# -- containers/image's choice (internal/manifest, internal/pkg/platform) ---------------------------


def _entry(
    digest: str, platform: dict[str, str] | None, media_type: str = oci.OCI_MANIFEST
) -> oci.Descriptor:
    return oci.Descriptor(
        media_type=media_type,
        digest=digest,
        size=1,
        platform=oci.Platform.from_json(platform) if platform is not None else None,
    )


def _go_index(entries: list[tuple[str, dict[str, str] | None]], media_type: str = oci.OCI_INDEX) -> oci.Index:
    return oci.Index(media_type=media_type, manifests=tuple(_entry(d, p) for d, p in entries))


def _digest(prefix: str) -> str:
    """A digest starting with ``prefix`` (the first hex digits of the Go test data's)."""
    return "sha256:" + prefix.ljust(64, "0")


A, B, C = (_digest(c * 4) for c in "abc")
C7, F2, N4 = _digest("c767"), _digest("f2f5"), _digest("4612")
LINUX = {"os": "linux"}


def test_entries_without_a_platform_are_taken_last_in_an_oci_index() -> None:
    """containers/image ``TestOCI1IndexChooseInstanceByCompression`` (oci1.index.zstd-selection2.json):
    an OCI index entry without a platform is a candidate of the lowest preference
    (``instanceCandidate.platformIndex = math.MaxInt``), so an architecture no entry names
    ("matchesImageWithNoPlatform") gets the platform-less entries (c767 gzip, f2f5 zstd); a
    platform that matches never does.  containerd's ``images.Manifest`` sorts them last too."""
    index = _go_index(
        [
            (A, {**LINUX, "architecture": "amd64"}),
            (B, {**LINUX, "architecture": "arm64"}),
            (C7, None),
            (F2, None),
            (N4, None),
        ]
    )
    got = oci.matching(index, oci.Platform("linux", "matchesImageWithNoPlatform"))
    assert [d.digest for d in got] == [C7, F2, N4]
    assert oci.select_platform(index, oci.Platform("linux", "matchesImageWithNoPlatform")).digest == C7
    assert oci.select_platform(index, oci.Platform.parse("linux/arm64")).digest == B


def test_entries_without_a_platform_in_a_docker_list_match_nothing() -> None:
    """containers/image ``Schema2List.ChooseInstance``: a Docker list's platform is a struct, so an
    entry without one has an empty platform, which ``MatchesPlatform`` matches to nothing."""
    index = _go_index([(A, {**LINUX, "architecture": "amd64"}), (B, None)], oci.DOCKER_MANIFEST_LIST)
    with pytest.raises(NotFoundError):
        oci.select_platform(index, oci.Platform.parse("linux/arm64"))


def test_an_attestation_or_a_nested_index_is_never_the_platform_less_fallback() -> None:
    """Attestations carry ``unknown/unknown`` (a platform, which matches nothing); an entry without a
    platform is taken only when it is an image manifest (a nested index or an unknown type is not
    an image to pull: image-index.md says to ignore unknown types)."""
    index = oci.Index(
        media_type=oci.OCI_INDEX,
        manifests=(
            _entry(A, {"os": "unknown", "architecture": "unknown"}),
            _entry(B, None, oci.OCI_INDEX),
            _entry(C, None, "application/vnd.example+json"),
        ),
    )
    with pytest.raises(NotFoundError):
        oci.select_platform(index, oci.Platform.parse("linux/arm64"))


VARIANTS = [  # containers/image internal/manifest/testdata/ocilist-variants.json
    ("59ee", {**LINUX, "architecture": "amd64"}),
    ("eeee", {**LINUX, "architecture": "arm", "variant": "v7"}),
    ("dddd", {**LINUX, "architecture": "arm", "variant": "v6"}),
    ("f365", {**LINUX, "architecture": "arm", "variant": "v6"}),  # (the zstd one)
    ("bcf9", {**LINUX, "architecture": "arm", "variant": "unrecognized-present"}),
    ("c84b", {**LINUX, "architecture": "arm"}),
]


@pytest.mark.parametrize(
    ("arch", "variant", "expected"),
    [
        ("amd64", "", ["59ee"]),
        ("arm", "v7", ["eeee", "c84b"]),
        ("arm", "v6", ["dddd", "f365"]),
        ("arm", "unrecognized-present", ["bcf9"]),
    ],
)
def test_ocilist_variants(arch: str, variant: str, expected: list[str]) -> None:
    """containers/image ``TestOCI1IndexChooseInstanceByCompression`` on ocilist-variants.json, the
    rows where containers/image and containerd agree: ``matching`` holds containers/image's
    answer first (arm/v7: eeee; amd64: 59ee; unrecognized-present: bcf9), and for arm/v6 both v6
    entries, from which the dual-compression choice (pull/variants.py) takes gzip dddd or zstd
    f365 as containers/image does with and without ``preferGzip``.  The bare ``arm`` entry is
    arm/v7 to containerd's ``Normalize``: it follows eeee for arm/v7.  Rows where the two differ,
    followed here as containerd rules: arm/v5 and arm/unrecognized-not-present (containers/image
    takes the bare c84b, which containerd reads as v7: newer than v5, unknown to an unrecognised
    variant: no match here), and ``arm`` alone (containers/image tries the bare c84b first,
    containerd reads ``arm`` as arm/v7 and eeee is the first v7 entry)."""
    index = _go_index([(_digest(d), p) for d, p in VARIANTS])
    got = oci.matching(index, oci.Platform("linux", arch, variant))
    assert [d.digest for d in got] == [_digest(e) for e in expected]


@pytest.mark.parametrize(
    ("wanted", "offered", "taken"),
    [
        # TestWantedPlatforms: the candidates of each wanted platform, each offered alone
        ("linux/amd64", "linux/amd64", True),
        ("linux/arm/v6", "linux/arm/v6", True),
        ("linux/arm/v6", "linux/arm/v5", True),
        ("linux/arm/v6", "linux/arm", False),  # (containerd: the bare arm is v7, which v6 does not run)
        ("linux/arm", "linux/arm", True),
        ("linux/arm", "linux/arm/v8", False),  # (containerd: arm means v7; v8 is newer)
        ("linux/arm", "linux/arm/v7", True),
        ("linux/arm", "linux/arm/v6", True),
        ("linux/arm", "linux/arm/v5", True),
        ("linux/arm64", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v8", True),
        ("freeBSD/armel/custom", "freeBSD/armel/custom", True),
        ("freeBSD/armel/custom", "freeBSD/armel", True),
        # WantedPlatforms always ends with the bare architecture: a variant it does not know
        ("linux/riscv64/rva23", "linux/riscv64", True),
        ("linux/ppc64le/power10", "linux/ppc64le", True),
        ("linux/riscv64", "linux/riscv64/rva23", False),  # (never a variant for the bare name)
    ],
)
def test_wanted_platforms(wanted: str, offered: str, taken: bool) -> None:
    """containers/image ``TestWantedPlatforms`` (internal/pkg/platform): amd64 -> [""], arm/v6 ->
    [v6, v5, ""], arm -> ["", v8, v7, v6, v5], arm64 -> ["", v8], freeBSD/armel/custom ->
    [custom, ""]; each candidate offered alone is taken, except where containerd's
    normalisation, which matching here follows, reads the bare ``arm`` as arm/v7 (marked)."""
    index = _offer(offered)
    if taken:
        assert oci.select_platform(index, oci.Platform.parse(wanted)) is index.manifests[0]
    else:
        with pytest.raises(NotFoundError):
            oci.select_platform(index, oci.Platform.parse(wanted))

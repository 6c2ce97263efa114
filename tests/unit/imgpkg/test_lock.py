"""ImagesLock / BundleLock: imgpkg's strict parsing, ggcr normalisation, imgpkg-style writing."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.lock import BundleLock, ImageRef, ImagesLock, normalize_ref, relocated_ref

D = "sha256:4c8b96d4fffdfae29258d94a22ae4ad1fe36139d47288b8960d9958d1e63a9d0"
HEAD = "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\n"


def test_parse_keeps_order_and_annotations_verbatim() -> None:
    text = (
        HEAD
        + f"""images:
- image: z.io/bb@{D}
  annotations:
    kbld.carvel.dev/id: docker.io/dkalinin/k8s-simple-app
    date: 2021-01-01
- image: a.io/aa@{D}
"""
    )
    lock = ImagesLock.parse(text)
    assert [i.image for i in lock.images] == [f"z.io/bb@{D}", f"a.io/aa@{D}"]
    assert lock.images[0].annotations == {
        "kbld.carvel.dev/id": "docker.io/dkalinin/k8s-simple-app",
        "date": "2021-01-01",
    }


def test_writer_is_imgpkg_style_and_round_trips() -> None:
    lock = ImagesLock((ImageRef(f"z.io/bb@{D}", {"k": "v"}), ImageRef(f"a.io/aa@{D}")))
    out = lock.to_yaml()
    assert (
        out
        == (
            f"---\napiVersion: imgpkg.carvel.dev/v1alpha1\nimages:\n- annotations:\n    k: v\n"
            f"  image: z.io/bb@{D}\n- image: a.io/aa@{D}\nkind: ImagesLock\n"
        ).encode()
    )
    assert ImagesLock.parse(out) == lock


@pytest.mark.parametrize(
    "text, message",
    [
        (HEAD + "images: []\nextra: 1\n", 'unknown field "extra"'),
        (HEAD + f"images:\n- image: a.io/aa@{D}\n  foo: bar\n", 'unknown field "foo"'),
        ("apiVersion: imgpkg.carvel.dev/v1\nkind: ImagesLock\n", "Unknown version"),
        ("apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: BundleLock\n", "Unknown kind"),
        (HEAD + "images:\n- image: nginx:v1\n", "Expected ref to be in digest form, got 'nginx:v1'"),
        (HEAD + "images:\n- image: 'NOT A REF'\n", "Expected ref to be in digest form"),
        (HEAD + f"images:\n- image: a.io/aa@{D}\n  annotations: {{k: [1]}}\n", "annotations"),
        (HEAD + f"images:\n- image: a.io/aa@{D}\n  annotations: {{k: {{n: 1}}}}\n", "annotations"),
        (HEAD + "images:\n- image: 12\n", "Expected ref to be in digest form, got '12'"),
        # go-containerregistry name.NewDigest: "unsupported digest algorithm" for anything but sha256
        (HEAD + f"images:\n- image: a.io/aa@sha512:{'a' * 128}\n", "Expected ref to be in digest form"),
        (HEAD + "images: {}\n", "'images' must be a list"),
        (HEAD + "kind: ImagesLock\n", "duplicate key 'kind'"),
        ("- a\n- b\n", "expected a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_strict_parsing_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidBundleError, match=message.replace("[", r"\[")):
        ImagesLock.parse(text)


def test_scalar_annotations_are_read_as_go_strings() -> None:
    """imgpkg reads images.yml with sigs.k8s.io/yaml into ``map[string]string`` annotations: a number
    or boolean bound for a string is converted to its text (``convertToJSONableObject``: integers in
    decimal, floats by their shortest %g, booleans true/false, YAML 1.1's ``yes`` a boolean), and
    null is the empty string.  Such a lock is valid, not an error."""
    text = (
        HEAD
        + f"""images:
- image: q.io/team/app@{D}
  annotations:
    replicas: 3
    version: 1.50
    big: 1e6
    enabled: yes
    unset: ~
    7: seven
"""
    )
    (image,) = ImagesLock.parse(text).images
    assert image.annotations == {
        "replicas": "3",
        "version": "1.5",
        "big": "1e+06",
        "enabled": "true",
        "unset": "",
        "7": "seven",
    }


def test_bundle_lock_tag_written_as_a_number_is_its_text() -> None:
    """BundleLock's ``bundle.tag`` is a Go string: ``tag: 2`` is the tag "2"."""
    text = (
        f"apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: BundleLock\nbundle:\n  image: q.io/bb@{D}\n  tag: 2\n"
    )
    assert BundleLock.parse(text).tag == "2"


def test_empty_images_is_allowed() -> None:
    assert ImagesLock.parse("---\n" + HEAD).images == ()


@pytest.mark.parametrize(
    "given, expected",
    [
        (f"ubuntu@{D}", f"index.docker.io/library/ubuntu@{D}"),
        (f"docker.io/dkalinin/app@{D}", f"index.docker.io/dkalinin/app@{D}"),
        (f"index.docker.io/dkalinin/app@{D}", f"index.docker.io/dkalinin/app@{D}"),
        (f"localhost:5000/a/b:tag@{D}", f"localhost:5000/a/b@{D}"),
    ],
)
def test_normalize_like_go_containerregistry(given: str, expected: str) -> None:
    assert normalize_ref(given) == expected


def test_relocated_ref_keeps_digest_only() -> None:
    assert relocated_ref(f"ubuntu:1@{D}", "localhost:5000", "ns/new") == f"localhost:5000/ns/new@{D}"
    assert relocated_ref(f"ubuntu@{D}", "docker.io", "me/x") == f"index.docker.io/me/x@{D}"


def test_bundle_lock_round_trip_and_format() -> None:
    lock = BundleLock(f"localhost:5000/dst@{D}", "v1.0")
    out = lock.to_yaml()
    assert (
        out
        == (
            f"---\napiVersion: imgpkg.carvel.dev/v1alpha1\nbundle:\n  image: localhost:5000/dst@{D}\n"
            "  tag: v1.0\nkind: BundleLock\n"
        ).encode()
    )
    assert BundleLock.parse(out) == lock
    assert b"tag" not in BundleLock(f"localhost:5000/dst@{D}").to_yaml()


def test_bundle_lock_rejects_tag_ref() -> None:
    with pytest.raises(InvalidBundleError, match="digest form"):
        BundleLock.parse("apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: BundleLock\nbundle: {image: a:1}\n")


@pytest.mark.parametrize("text", ["n", "Y", "yes", "1e6", "0o17", "1_000", ".5", "~", "12"])
def test_strings_go_yaml_would_retype_are_quoted_when_written(text: str) -> None:
    """imgpkg reads what we write with go-yaml v2, which resolves plain ``n``/``Y`` as booleans and
    ``1e6``, ``0o17``, ``1_000`` as numbers (PyYAML does not): such strings are written quoted, so
    an annotation key or value reads back as the same string; double-quoted, as go-yaml v2's
    ``stringv`` writes them."""
    lock = ImagesLock((ImageRef(f"q.io/aa@{D}", {text: text}),))
    out = lock.to_yaml().decode()
    assert f'    "{text}": "{text}"\n' in out
    assert ImagesLock.parse(out).images[0].annotations == {text: text}


def test_plain_y_and_n_are_booleans_in_a_locations_file() -> None:
    """go-yaml v2 reads YAML 1.1's ``y``/``n`` as booleans (``isBundle: y`` is true)."""
    from imgextract.imgpkg.locations import ImageLocations

    doc = ImageLocations.parse(
        "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImageLocations\n"
        f"images:\n- image: q.io/aa@{D}\n  isBundle: y\n- image: q.io/bb@{D}\n  isBundle: n\n"
    )
    assert [e.is_bundle for e in doc.images] == [True, False]


def test_writer_quotes_and_blocks_as_go_yaml_v2() -> None:
    """go-yaml v2 ``encoder.stringv``: a base-60 float lookalike is double-quoted, a multi-line string
    is a literal block, and a string that only YAML syntax forbids plain is single-quoted."""
    lock = ImagesLock((ImageRef(f"q.io/aa@{D}", {"t": "1:20", "m": "two\nlines", "s": ": x", "p": "1.2.3"}),))
    out = lock.to_yaml().decode()
    assert '    t: "1:20"\n' in out
    assert "    m: |-\n      two\n      lines\n" in out
    assert "    s: ': x'\n" in out
    assert "    p: 1.2.3\n" in out
    assert ImagesLock.parse(out).images[0].annotations == {
        "t": "1:20",
        "m": "two\nlines",
        "s": ": x",
        "p": "1.2.3",
    }


# go-containerregistry pkg/name (digest.go NewDigest/splitDigest, tag.go NewTag, repository.go
# NewRepository/checkRepository, registry.go NewRegistry/checkRegistry; stored commits 00f21513,
# 0432ad35, 2f91ae9d): the rules imgpkg's ImagesLock.Validate applies, which are not Docker's.
@pytest.mark.parametrize(
    "given, expected",
    [
        # a first component is a registry only when it holds '.' or ':' ("localhost" does not)
        (f"localhost/foo@{D}", f"index.docker.io/localhost/foo@{D}"),
        # a repository is 2-255 of [a-z0-9_-./], with no further structure
        (f"foo/a..b@{D}", f"index.docker.io/foo/a..b@{D}"),
        (f"q.io/-a-@{D}", f"q.io/-a-@{D}"),
        # a registry is whatever url.Parse takes as the authority
        (f"foo_bar.io/xy@{D}", f"foo_bar.io/xy@{D}"),
        (f"q.io/a/b:V1_x.y-z@{D}", f"q.io/a/b@{D}"),
    ],
)
def test_normalize_with_go_containerregistrys_rules(given: str, expected: str) -> None:
    assert normalize_ref(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        f"a@{D}",  # a repository of one character
        f"q.io/a@{D}",
        f"q.io/A/b@{D}",  # upper case
        f"q io/a/b@{D}",  # a blank in the registry
        f"q.io:x/ab@{D}",  # a port that is not a number
        f"q.io%41/ab@{D}",
        f"ubuntu:a+b@{D}",  # a tag character ggcr does not take
        f"ubuntu:@{D}",  # an empty tag (digest_test.go badDigestNames)
        f"q.io/ab@{D}@{D}",
        f"q.io/ab@{D.upper()}",
        f"q.io/ab@sha512:{'a' * 128}",
    ],
)
def test_refused_as_go_containerregistry_refuses(given: str) -> None:
    with pytest.raises(InvalidBundleError, match="Expected ref to be in digest form"):
        normalize_ref(given)

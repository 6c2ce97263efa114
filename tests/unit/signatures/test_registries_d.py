"""registries.d: merging, namespace precedence, lookaside URLs, sigstore attachments."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.reference import parse_reference
from imgextract.signatures import PolicyError, load_registries_d
from imgextract.signatures.fetch import lookaside_url


def write(d: Path, name: str, text: str) -> None:
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)


def test_precedence_and_urls(tmp_path: Path) -> None:
    d = tmp_path / "registries.d"
    write(d, "default.yaml", "default-docker:\n  lookaside: file:///var/sigs\n")
    write(
        d,
        "redhat.yaml",
        "docker:\n"
        "  registry.redhat.io:\n    lookaside: https://registry.redhat.io/containers/sigstore\n"
        "  registry.redhat.io/ubi9:\n    lookaside-staging: file:///staging\n    use-sigstore-attachments: true\n"
        "  quay.io/ns/app:v1:\n    sigstore: http://old.example/sigs/\n",
    )
    write(d, "ignored.conf", "this: [is not read")
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    ubi = parse_reference("registry.redhat.io/ubi9/ubi:latest")
    assert (
        rd.lookaside_base(ubi) == "https://registry.redhat.io/containers/sigstore/ubi9/ubi"
    )  # staging ignored
    assert rd.use_sigstore_attachments(ubi) is True
    assert rd.use_sigstore_attachments(parse_reference("registry.redhat.io/other/x:1")) is False
    # the configured trailing "/" is kept, as containers/image appends "/<repository>" to the path
    assert rd.lookaside_base(parse_reference("quay.io/ns/app:v1")) == "http://old.example/sigs//ns/app"
    assert rd.lookaside_base(parse_reference("quay.io/ns/app:v2")) == "file:///var/sigs/ns/app"
    digest = "sha256:" + "b" * 64
    assert (
        lookaside_url("file:///var/sigs/ns/app", digest, 2)
        == f"file:///var/sigs/ns/app@sha256={'b' * 64}/signature-2"
    )


def test_namespaces_are_looked_up_as_policy_configuration_namespaces(tmp_path: Path) -> None:
    """containers/image looks registries.d ``docker:`` keys up along ``PolicyConfigurationNamespaces``,
    the list policy.json scopes use: ``*.domain`` wildcards (port dropped) after ``host[:port]``."""
    d = tmp_path / "registries.d"
    write(
        d,
        "wild.yaml",
        "docker:\n"
        "  '*.example.com':\n    lookaside: https://sigs.example.com/wild\n    use-sigstore-attachments: true\n"
        "  '*.com':\n    lookaside: https://sigs.example.com/com\n"
        "  registry.example.com:5000:\n    lookaside: https://sigs.example.com/port\n",
    )
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    ref = parse_reference("registry.example.com/ns/app:v1")
    assert rd.lookaside_base(ref) == "https://sigs.example.com/wild/ns/app"
    assert rd.use_sigstore_attachments(ref) is True
    # host[:port] is more specific than any wildcard; the wildcards match with the port dropped
    assert rd.lookaside_base(parse_reference("registry.example.com:5000/ns/app:v1")) == (
        "https://sigs.example.com/port/ns/app"
    )
    assert rd.lookaside_base(parse_reference("registry.example.com:6000/ns/app:v1")) == (
        "https://sigs.example.com/wild/ns/app"
    )
    other = parse_reference("quay.com/ns/app:v1")
    assert rd.lookaside_base(other) == "https://sigs.example.com/com/ns/app"
    assert rd.use_sigstore_attachments(other) is False
    # a wildcard names subdomains only, never the domain itself
    assert (
        rd.lookaside_base(parse_reference("example.com/ns/app:v1")) == "https://sigs.example.com/com/ns/app"
    )


def test_nothing_configured_uses_the_builtin_directory(tmp_path: Path) -> None:
    rd = load_registries_d(tmp_path / "absent", env={"HOME": str(tmp_path)})
    base = rd.lookaside_base(parse_reference("quay.io/a/b:v1"))
    assert base.startswith("file://") and base.endswith("/sigstore/a/b")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "default-docker: {}\n", "b.yaml": "default-docker: {}\n"}, "default-docker"),
        ({"a.yaml": "docker:\n  quay.io: {}\n", "b.yaml": "docker:\n  quay.io: {}\n"}, "defined both"),
        ({"a.yaml": "docker: [1]\n"}, "mapping of namespaces"),
        ({"a.yaml": "docker:\n  quay.io:\n    use-sigstore-attachments: yes please\n"}, "true or false"),
        ({"a.yaml": "docker: {quay.io: [\n"}, "invalid"),
    ],
)
def test_invalid_configurations(tmp_path: Path, files: dict[str, str], message: str) -> None:
    d = tmp_path / "d"
    for name, text in files.items():
        write(d, name, text)
    with pytest.raises(PolicyError, match=message):
        load_registries_d(d, env={"HOME": str(tmp_path)})


def test_a_query_in_the_lookaside_url_stays_a_query(tmp_path: Path) -> None:
    # containers/image appends the repository and the signature name to the URL's path.
    d = tmp_path / "registries.d"
    write(d, "q.yaml", "docker:\n  quay.io:\n    lookaside: https://sigs.example/store?token=abc#frag\n")
    rd = load_registries_d(d, env={"HOME": str(tmp_path)})
    base = rd.lookaside_base(parse_reference("quay.io/ns/app:v1"))
    assert base == "https://sigs.example/store/ns/app?token=abc#frag"
    digest = "sha256:" + "c" * 64
    assert (
        lookaside_url(base, digest, 1)
        == f"https://sigs.example/store/ns/app@sha256={'c' * 64}/signature-1?token=abc#frag"
    )

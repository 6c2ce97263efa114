"""Which policy.json scope applies to an image: containers/image's tables, restated.

- ``docker/policyconfiguration/naming_test.go`` ``TestDockerReference``: the identity (name with
  the tag, or the digest when there is one; a tag next to a digest is dropped) and the namespaces,
  most specific first; ``DockerReferenceNamespaces`` then adds the ``*.domain`` wildcards of the
  host (port dropped).
- ``signature/policy_eval_test.go`` ``TestPolicyContextRequirementsForImageRef``: the first of those
  present in ``transports.docker`` wins, then the transport's ``""`` scope, then ``default``.
"""

from __future__ import annotations

import json

import pytest

from imgextract.reference import parse_reference
from imgextract.signatures import parse_policy
from imgextract.signatures.policy import scope_candidates

DIGEST = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("name", "namespaces"),
    [
        ("example.com/ns/repo", ["example.com/ns/repo", "example.com/ns", "example.com", "*.com"]),
        ("example.com/repo", ["example.com/repo", "example.com", "*.com"]),
        ("localhost/ns/repo", ["localhost/ns/repo", "localhost/ns", "localhost"]),
        ("localhost/repo", ["localhost/repo", "localhost"]),
        ("notlocalhost/repo", ["docker.io/notlocalhost/repo", "docker.io/notlocalhost", "docker.io", "*.io"]),
        ("docker.io/ns/repo", ["docker.io/ns/repo", "docker.io/ns", "docker.io", "*.io"]),
        ("docker.io/library/repo", ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"]),
        ("docker.io/repo", ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"]),
        ("ns/repo", ["docker.io/ns/repo", "docker.io/ns", "docker.io", "*.io"]),
        ("library/repo", ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"]),
        ("repo", ["docker.io/library/repo", "docker.io/library", "docker.io", "*.io"]),
        (
            "sub.example.com:5000/ns/repo",
            [
                "sub.example.com:5000/ns/repo",
                "sub.example.com:5000/ns",
                "sub.example.com:5000",
                "*.example.com",
                "*.com",
            ],
        ),
        ("localhost:5000/repo", ["localhost:5000/repo", "localhost:5000"]),
    ],
)
@pytest.mark.parametrize(
    ("suffix", "identity_suffix"), [(":tag", ":tag"), (DIGEST, DIGEST), (":tag" + DIGEST, DIGEST)]
)
def test_identity_then_namespaces(
    name: str, namespaces: list[str], suffix: str, identity_suffix: str
) -> None:
    """TestDockerReference (the wildcard namespaces of DockerReferenceNamespaces included)"""
    candidates = scope_candidates(parse_reference(name + suffix))
    assert candidates == [namespaces[0] + identity_suffix, *namespaces]


SCOPES = [
    "",
    "unmatched",
    "deep.com",
    "deep.com/n1",
    "deep.com/n1/n2",
    "deep.com/n1/n2/n3",
    "deep.com/n1/n2/n3/repo",
    "deep.com/n1/n2/n3/repo:tag2",
]


@pytest.mark.parametrize(
    ("image", "scope"),
    [
        ("deep.com/n1/n2/n3/repo:tag2", 'docker scope "deep.com/n1/n2/n3/repo:tag2"'),
        ("deep.com/n1/n2/n3/repo:nottag2", 'docker scope "deep.com/n1/n2/n3/repo"'),
        ("deep.com/n1/n2/n3/notrepo:tag2", 'docker scope "deep.com/n1/n2/n3"'),
        ("deep.com/n1/n2/notn3/repo:tag2", 'docker scope "deep.com/n1/n2"'),
        ("deep.com/n1/notn2/n3/repo:tag2", 'docker scope "deep.com/n1"'),
        ("deep.com/notn1/n2/n3/repo:tag2", 'docker scope "deep.com"'),
        ("this.doesnt/match:anything", 'docker scope ""'),
    ],
)
def test_requirements_for_image_ref(image: str, scope: str) -> None:
    """TestPolicyContextRequirementsForImageRef (docker transport cases)"""
    reject = [{"type": "reject"}]
    policy = parse_policy(
        json.dumps({"default": reject, "transports": {"docker": dict.fromkeys(SCOPES, reject)}})
    )
    assert policy.scope_for(parse_reference(image)).label == scope


def test_no_transport_scope_means_default() -> None:
    """TestPolicyContextRequirementsForImageRef: a transport without a matching or "" scope"""
    reject = [{"type": "reject"}]
    policy = parse_policy(json.dumps({"default": reject, "transports": {"docker": {"unmatched": reject}}}))
    assert policy.scope_for(parse_reference("this.doesnt/match:anything")).label == "default"

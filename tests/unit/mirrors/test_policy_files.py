"""Reading ICSP / IDMS / ITMS files: YAML shapes, kinds, CRD validation, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import ConfigError
from imgextract.mirrors.policies import ICSP, IDMS, ITMS, load_policy_file

IDMS_DOC = """\
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: {name}
spec:
  imageDigestMirrors:
  - source: {source}
    mirrors: {mirrors}
"""


def _write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_multi_document_file(tmp_path: Path) -> None:
    text = (
        IDMS_DOC.format(name="a", source="quay.io/a", mirrors="[m.local/a]")
        + "---\n"
        + IDMS_DOC.format(name="b", source="quay.io/b", mirrors="[m.local/b, n.local/b]")
        + "---\n"
    )
    policies = load_policy_file(_write(tmp_path, text), IDMS)
    assert [(p.name, [(e.source, e.mirrors) for e in p.entries]) for p in policies] == [
        ("a", [("quay.io/a", ("m.local/a",))]),
        ("b", [("quay.io/b", ("m.local/b", "n.local/b"))]),
    ]


def test_oc_get_list_output(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: operator.openshift.io/v1alpha1
  kind: ImageContentSourcePolicy
  metadata:
    name: redhat-operator-index
  spec:
    repositoryDigestMirrors:
    - mirrors:
      - mirror.local:5000/redhat
      source: registry.redhat.io/redhat
"""
    (policy,) = load_policy_file(_write(tmp_path, text), ICSP)
    assert policy.name == "redhat-operator-index"
    assert policy.describe() == f"ICSP redhat-operator-index (file {tmp_path / 'policy.yaml'})"
    assert policy.entries[0].mirrors == ("mirror.local:5000/redhat",)


def test_empty_list_and_empty_file(tmp_path: Path) -> None:
    assert load_policy_file(_write(tmp_path, "apiVersion: v1\nkind: List\nitems: []\n"), ITMS) == []
    assert load_policy_file(_write(tmp_path, "", "empty.yaml"), ITMS) == []


def test_never_contact_source_parsed(tmp_path: Path) -> None:
    text = (
        IDMS_DOC.format(name="n", source="quay.io/a", mirrors="[m.local/a]")
        + "    mirrorSourcePolicy: NeverContactSource\n"
    )
    (policy,) = load_policy_file(_write(tmp_path, text), IDMS)
    assert policy.entries[0].never_contact_source


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/Upper", mirrors="[m.local/a]"),
            "ImageDigestMirrorSet bad: spec.imageDigestMirrors[0].source 'quay.io/Upper'",
        ),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/a", mirrors="[m.local/a, m.local/a]"),
            "mirrors[1] 'm.local/a': duplicate mirror",
        ),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/a", mirrors="['https://m.local/a']"),
            "mirrors[0] 'https://m.local/a'",
        ),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/a", mirrors="['*.m.local']"),
            "mirrors[0] '*.m.local'",
        ),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="'*.redhat.io/ns'", mirrors="[m.local/a]"),
            "source '*.redhat.io/ns'",
        ),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/a", mirrors="[m.local/a]")
            + "    mirrorSourcePolicy: Never\n",
            "mirrorSourcePolicy: 'Never' is not one of",
        ),
        (IDMS, IDMS_DOC.format(name="bad", source="''", mirrors="[m.local/a]"), "source: required"),
        (
            IDMS,
            IDMS_DOC.format(name="bad", source="quay.io/a", mirrors="m.local/a"),
            "must be a list of strings",
        ),
        (
            IDMS,
            IDMS_DOC.replace("config.openshift.io/v1", "config.openshift.io/v1alpha1").format(
                name="bad", source="quay.io/a", mirrors="[m]"
            ),
            "apiVersion 'config.openshift.io/v1alpha1'",
        ),
        (
            ICSP,
            IDMS_DOC.format(name="x", source="quay.io/a", mirrors="[m]"),
            "has kind 'ImageDigestMirrorSet'; this option expects ImageContentSourcePolicy",
        ),
        (
            ICSP,
            "apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata: {name: w}\n"
            "spec:\n  repositoryDigestMirrors:\n  - source: '*.redhat.io/ns'\n    mirrors: [m.local]\n",
            "source '*.redhat.io/ns': not a valid host[:port][/namespace...] or *.domain scope",
        ),
        (
            ICSP,
            "apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata: {name: p}\n"
            "spec:\n  repositoryDigestMirrors:\n  - source: quay.io/a\n    mirrors: [m.local]\n"
            "    mirrorSourcePolicy: NeverContactSource\n",
            "mirrorSourcePolicy is not a field",
        ),
        (ITMS, "kind: [unclosed\n", "invalid YAML"),
        (ITMS, "- just\n- a list\n", "must be a Kubernetes object"),
    ],
)
def test_invalid_policy_names_file_and_entry(tmp_path: Path, kind: str, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_policy_file(path, kind)
    assert message in str(exc.value)
    assert str(path) in str(exc.value)
    assert exit_code_for(exc.value) == 2


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reading IDMS file .*nope.yaml"):
        load_policy_file(tmp_path / "nope.yaml", IDMS)


def test_wildcard_source_accepted_for_idms(tmp_path: Path) -> None:
    text = IDMS_DOC.format(name="w", source="'*.redhat.io'", mirrors="[mirror.local/redhat]")
    (policy,) = load_policy_file(_write(tmp_path, text), IDMS)
    assert policy.entries[0].source == "*.redhat.io"

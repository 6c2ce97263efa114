"""ICSP/IDMS/ITMS rules as the Machine Config Operator and runtime-utils apply them.

Each test names the upstream function whose behaviour it pins: ``validateRegistriesConfScopes``
(the MCO's check before it writes registries.conf; it converts every ICSP entry to an IDMS entry
and checks it with the IDMS ``source``/``mirrors`` patterns), ``EditRegistriesConfig`` (a
wildcard source becomes a ``prefix = "*.host"`` entry with no location) and
``topoGraph.Sorted`` (the merge order of several mirror lists for one source).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.errors import ConfigError
from imgextract.mirrors import MirrorSettings, load_mirror_config
from imgextract.mirrors.policies import ICSP, load_policy_file
from imgextract.reference import parse_reference
from tests.unit.mirrors.helpers import DIGEST

ICSP_DOC = """\
apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata: {{name: {name}}}
spec:
  repositoryDigestMirrors:
  - source: '{source}'
    mirrors: {mirrors}
"""


def _settings(tmp_path: Path, *, icsp: str) -> MirrorSettings:
    (tmp_path / "registries.conf").write_text("")
    (tmp_path / "icsp.yaml").write_text(icsp)
    return MirrorSettings(
        icsp_files=(tmp_path / "icsp.yaml",),
        registries_conf=tmp_path / "registries.conf",
        registries_conf_dir=tmp_path / "absent.d",
        env={},
    )


def _refs(settings: MirrorSettings, ref: str) -> list[tuple[str, bool]]:
    config = load_mirror_config(settings)
    return [(str(s.reference), s.blocked) for s in config.pull_sources(parse_reference(ref))]


def test_icsp_wildcard_source_is_accepted_and_mirrored(tmp_path: Path) -> None:
    """validateRegistriesConfScopes: an ICSP entry is converted to an IDMS entry and its source is
    checked with the IDMS source pattern, which allows ``*.host``; EditRegistriesConfig then writes
    ``prefix = "*.redhat.io"`` (no location) with the mirror, used for digest pulls only."""
    settings = _settings(
        tmp_path, icsp=ICSP_DOC.format(name="w", source="*.redhat.io", mirrors="[mirror.local/rh]")
    )
    assert _refs(settings, "registry.redhat.io/product/repo@" + DIGEST) == [
        ("mirror.local/rh/product/repo@" + DIGEST, False),
        ("registry.redhat.io/product/repo@" + DIGEST, False),
    ]
    assert _refs(settings, "a.b.redhat.io/x:1") == [("a.b.redhat.io/x:1", False)]
    # never the bare domain
    assert _refs(settings, "redhat.io/x@" + DIGEST) == [("redhat.io/x@" + DIGEST, False)]


@pytest.mark.parametrize(
    ("source", "mirrors", "message"),
    [
        # the wildcard form has no path, no port and exactly one leading '*.'
        ("*.redhat.io/ns", "[mirror.local/rh]", "source '*.redhat.io/ns'"),
        ("*.redhat.io:443", "[mirror.local/rh]", "source '*.redhat.io:443'"),
        ("**.redhat.io", "[mirror.local/rh]", "source '**.redhat.io'"),
        ("registry.*.io", "[mirror.local/rh]", "source 'registry.*.io'"),
        # a mirror is never a wildcard, not even next to a wildcard source
        ("*.insecure.example", "['*.other.example/ns']", "mirrors[0] '*.other.example/ns'"),
        ("quay.io/ns", "['']", "mirrors[0] ''"),
    ],
)
def test_icsp_scopes_checked_with_the_idms_patterns(
    tmp_path: Path, source: str, mirrors: str, message: str
) -> None:
    """validateRegistriesConfScopes: the IDMS source and mirror patterns apply to ICSP entries."""
    path = tmp_path / "icsp.yaml"
    path.write_text(ICSP_DOC.format(name="bad", source=source, mirrors=mirrors))
    with pytest.raises(ConfigError) as exc:
        load_policy_file(path, ICSP)
    assert message in str(exc.value)
    assert exit_code_for(exc.value) == 2


def test_icsp_repeated_mirror_is_accepted(tmp_path: Path) -> None:
    """validateRegistriesConfScopes does not look for repeated mirrors and the ICSP CRD's
    ``mirrors`` is a plain list (no ``x-kubernetes-list-type: set``, unlike IDMS/ITMS), so the
    cluster accepts it; mergedDigestMirrorSets / topoGraph.Sorted keep each mirror once."""
    text = ICSP_DOC.format(name="rep", source="quay.io/ns", mirrors="[m1.local/ns, m2.local/ns, m1.local/ns]")
    settings = _settings(tmp_path, icsp=text)
    assert _refs(settings, "quay.io/ns/app@" + DIGEST) == [
        ("m1.local/ns/app@" + DIGEST, False),
        ("m2.local/ns/app@" + DIGEST, False),
        ("quay.io/ns/app@" + DIGEST, False),
    ]

"""mirrorSourcePolicy consistency, as the Machine Config Operator checks it before writing registries.conf.

The MCO (``validateRegistriesConfScopes`` in the container runtime config controller) refuses the
whole set of ICSP/IDMS/ITMS objects, and renders nothing, when:

- two entries for the same ``source`` (compared exactly, across ICSPs, IDMSs and ITMSs; an ICSP
  entry or one without the field counts as ``AllowContactingSource``) disagree on
  ``mirrorSourcePolicy``;
- an entry with ``NeverContactSource`` lists its own source among its mirrors.

runtime-utils ``EditRegistriesConfig`` alone would block the source; the node never gets that
configuration, so we report the conflict as a configuration error rather than invent one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import ConfigError
from imgextract.mirrors import MirrorConfig, MirrorSettings, load_mirror_config
from imgextract.reference import parse_reference


def _doc(kind: str, name: str, source: str, mirrors: str, policy: str | None) -> str:
    api, field = {
        "ImageContentSourcePolicy": ("operator.openshift.io/v1alpha1", "repositoryDigestMirrors"),
        "ImageDigestMirrorSet": ("config.openshift.io/v1", "imageDigestMirrors"),
        "ImageTagMirrorSet": ("config.openshift.io/v1", "imageTagMirrors"),
    }[kind]
    text = f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n  {field}:\n"
    text += f"  - source: {source}\n    mirrors: {mirrors}\n"
    if policy:
        text += f"    mirrorSourcePolicy: {policy}\n"
    return text


def _load(tmp_path: Path, *docs: tuple[str, str, str, str, str | None]) -> MirrorConfig:
    files: dict[str, list[Path]] = {"icsp_files": [], "idms_files": [], "itms_files": []}
    key = {
        "ImageContentSourcePolicy": "icsp_files",
        "ImageDigestMirrorSet": "idms_files",
        "ImageTagMirrorSet": "itms_files",
    }
    for i, doc in enumerate(docs):
        path = tmp_path / f"p{i}.yaml"
        path.write_text(_doc(*doc))
        files[key[doc[0]]].append(path)
    settings = MirrorSettings(
        registries_conf=tmp_path / "none.conf",
        registries_conf_dir=tmp_path / "none.d",
        env={},
        icsp_files=tuple(files["icsp_files"]),
        idms_files=tuple(files["idms_files"]),
        itms_files=tuple(files["itms_files"]),
    )
    (tmp_path / "none.conf").write_text("")
    return load_mirror_config(settings)


@pytest.mark.parametrize(
    "docs",
    [
        (
            ("ImageDigestMirrorSet", "a", "quay.io/ns", "[m1.local/ns]", "NeverContactSource"),
            ("ImageDigestMirrorSet", "b", "quay.io/ns", "[m2.local/ns]", "AllowContactingSource"),
        ),
        (
            ("ImageDigestMirrorSet", "a", "quay.io/ns", "[m1.local/ns]", "NeverContactSource"),
            ("ImageDigestMirrorSet", "b", "quay.io/ns", "[m2.local/ns]", None),
        ),
        (
            ("ImageDigestMirrorSet", "a", "registry-b.com", "[d.local]", None),
            ("ImageTagMirrorSet", "t", "registry-b.com", "[t.local]", "NeverContactSource"),
        ),
        (
            ("ImageContentSourcePolicy", "i", "quay.io/ns", "[m1.local/ns]", None),
            ("ImageDigestMirrorSet", "a", "quay.io/ns", "[m2.local/ns]", "NeverContactSource"),
        ),
        (  # an entry without mirrors is ignored by the conversion, but still checked
            ("ImageDigestMirrorSet", "a", "quay.io/ns", "[]", "NeverContactSource"),
            ("ImageTagMirrorSet", "t", "quay.io/ns", "[t.local/ns]", None),
        ),
    ],
)
def test_conflicting_mirror_source_policy_is_refused(tmp_path: Path, docs: tuple) -> None:
    """machine-config-operator ``validateRegistriesConfScopes``: one policy per source."""
    with pytest.raises(ConfigError, match="conflicting mirrorSourcePolicy") as exc:
        _load(tmp_path, *docs)
    source = docs[0][2]
    assert repr(source) in str(exc.value) or f'"{source}"' in str(exc.value)


def test_never_contact_source_listing_itself_as_mirror_is_refused(tmp_path: Path) -> None:
    """machine-config-operator ``validateRegistriesConfScopes``: NeverContactSource and the source as a mirror."""
    with pytest.raises(ConfigError, match="NeverContactSource if the source"):
        _load(
            tmp_path,
            ("ImageDigestMirrorSet", "a", "quay.io/ns", "[m.local/ns, quay.io/ns]", "NeverContactSource"),
        )


def test_agreeing_policies_still_block_the_source(tmp_path: Path) -> None:
    """Entries that agree are merged as runtime-utils ``EditRegistriesConfig`` merges them."""
    config = _load(
        tmp_path,
        ("ImageDigestMirrorSet", "a", "quay.io/ns", "[m1.local/ns]", "NeverContactSource"),
        ("ImageTagMirrorSet", "t", "quay.io/ns", "[t.local/ns]", "NeverContactSource"),
        ("ImageDigestMirrorSet", "b", "quay.io/other", "[m2.local/other]", None),
        ("ImageTagMirrorSet", "u", "quay.io/other", "[t2.local/other]", "AllowContactingSource"),
    )
    sources = config.pull_sources(parse_reference("quay.io/ns/app:v1"))
    assert [(str(s.reference), s.blocked) for s in sources] == [
        ("t.local/ns/app:v1", False),
        ("quay.io/ns/app:v1", True),
    ]
    other = config.pull_sources(parse_reference("quay.io/other/app:v1"))
    assert [(str(s.reference), s.blocked) for s in other] == [
        ("t2.local/other/app:v1", False),
        ("quay.io/other/app:v1", False),
    ]

"""``mirrors REF``: the endpoints a pull would try, each with the ``insecure`` setting the pull uses
for it: its registries.conf entry's own ``insecure``, or the host named in ``insecure_registries``
(``--insecure-registry``), which the pull honours for a mirror as for the primary."""

from __future__ import annotations

from pathlib import Path

import imgextract

CONF = """
[[registry]]
prefix = "quay.io/team"
location = "quay.io/team"

[[registry.mirror]]
location = "mirror-a.local:5000/team"

[[registry.mirror]]
location = "mirror-b.local/team"
insecure = true
"""


def _insecure(tmp_path: Path, *hosts: str) -> list[tuple[str, bool]]:
    conf = tmp_path / "registries.conf"
    conf.write_text(CONF)
    (tmp_path / "d").mkdir(exist_ok=True)
    result = imgextract.explain_mirrors(
        "quay.io/team/app:v1",
        registries_conf=conf,
        registries_conf_dir=tmp_path / "d",
        insecure_registries=list(hosts),
    )
    return [(str(s.reference), s.insecure) for s in result.sources]


def test_entry_setting_alone(tmp_path: Path) -> None:
    assert _insecure(tmp_path) == [
        ("mirror-a.local:5000/team/app:v1", False),
        ("mirror-b.local/team/app:v1", True),
        ("quay.io/team/app:v1", False),
    ]


def test_insecure_registries_flag_the_endpoints_they_name(tmp_path: Path) -> None:
    """The host with its port, as the pull's transport matches it; other endpoints keep their own."""
    assert _insecure(tmp_path, "mirror-a.local:5000") == [
        ("mirror-a.local:5000/team/app:v1", True),
        ("mirror-b.local/team/app:v1", True),
        ("quay.io/team/app:v1", False),
    ]
    assert _insecure(tmp_path, "mirror-a.local", "quay.io") == [
        ("mirror-a.local:5000/team/app:v1", False),  # another port is another host
        ("mirror-b.local/team/app:v1", True),
        ("quay.io/team/app:v1", True),
    ]

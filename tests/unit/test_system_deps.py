"""The Debian packages `make test` installs cover every program the tests run as an oracle.

The signature tests sign with ``gpg --batch`` (which needs ``gpg-agent`` for any secret-key
operation), the registry tests start ``docker-registry``, push with ``skopeo`` and unpack with
``umoci``: each must be in ``APT_BINARIES`` (what ``make system-deps`` checks for) and come from a
package in ``APT_PACKAGES`` (what it installs), and each must be here: a missing oracle fails.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ORACLES = {
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "gpg": "gnupg",
    "gpg-agent": "gnupg",
}
"""Program the tests run -> the Debian package ``make system-deps`` installs for it."""


def _make_variable(name: str) -> set[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{name}\s*:=\s*(.*)$", text, re.MULTILINE)
    assert match is not None, f"{name} not set in the Makefile"
    return set(match.group(1).split())


@pytest.mark.parametrize(("program", "package"), sorted(ORACLES.items()))
def test_every_oracle_is_installed_by_make_system_deps(program: str, package: str) -> None:
    assert program in _make_variable("APT_BINARIES")
    assert package in _make_variable("APT_PACKAGES")
    assert shutil.which(program) is not None, f"{program} is not installed (make system-deps)"

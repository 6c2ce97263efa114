"""imgpkg's credentials from the environment, as a :class:`Keyring`.

``IMGPKG_REGISTRY_HOSTNAME``, ``_USERNAME``, ``_PASSWORD``, ``_IDENTITY_TOKEN``,
``_REGISTRY_TOKEN`` form one entry; the same names with a suffix ``_N`` (any suffix) form
entry ``N``.  HOSTNAME may carry a scheme, ``/v1/``/``/v2/``, a repository path
(per-project credentials) and host globs (``*.example.com``); matching follows kubelet's
rules as imgpkg does.  Unknown ``IMGPKG_REGISTRY_*`` names and entries without a HOSTNAME
are ignored with a warning (imgpkg fails on them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from imgextract.auth.credentials import Credentials
from imgextract.auth.keyring import Keyring

log = logging.getLogger(__name__)

PREFIX = "IMGPKG_REGISTRY_"
FIELDS = ("HOSTNAME", "USERNAME", "PASSWORD", "IDENTITY_TOKEN", "REGISTRY_TOKEN")
_IGNORED = {"IMGPKG_REGISTRY_AZURE_CR_CONFIG"}


def imgpkg_env_keyring(env: Mapping[str, str]) -> Keyring:
    """Collect the imgpkg credential variables of ``env``."""
    groups: dict[str, dict[str, str]] = {}
    for name in sorted(env):
        if not name.startswith(PREFIX) or name in _IGNORED:
            continue
        rest = name[len(PREFIX) :]
        for fld in FIELDS:
            if rest == fld:
                groups.setdefault("", {})[fld] = env[name]
                break
            if rest.startswith(fld + "_"):
                groups.setdefault(rest[len(fld) + 1 :], {})[fld] = env[name]
                break
        else:
            log.warning("ignoring unknown environment variable %s", name)
    entries: list[tuple[str, Credentials]] = []
    for suffix, values in sorted(groups.items()):
        label = PREFIX + "HOSTNAME" + (f"_{suffix}" if suffix else "")
        host = values.get("HOSTNAME", "").strip()
        creds = Credentials(
            username=values.get("USERNAME", ""),
            password=values.get("PASSWORD", ""),
            identity_token=values.get("IDENTITY_TOKEN", ""),
            registry_token=values.get("REGISTRY_TOKEN", ""),
        )
        if not host:
            log.warning("ignoring imgpkg credentials without %s", label)
            continue
        if creds.is_empty:
            continue
        entries.append((host, creds))
    return Keyring(entries)

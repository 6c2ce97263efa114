"""The registries.conf v2 data model: ``[[registry]]`` entries and their endpoints.

These mirror containers/image ``sysregistriesv2.Registry`` / ``Endpoint``.  Instances are
mutable because the OpenShift conversion (``convert.py``) edits a configuration in place,
exactly as runtime-utils ``EditRegistriesConfig`` does; ``MirrorConfig`` only reads them.

Every entry and endpoint carries ``origin``: a human-readable description of the file and
entry it came from, used for the ``rule`` of a pull source (``mirrors`` explains itself).
"""

from __future__ import annotations

from imgextract.records import Record

# Values of a mirror's ``pull-from-mirror``; "" means the same as "all".
PULL_FROM_MIRROR_ALL = "all"
PULL_FROM_MIRROR_DIGEST_ONLY = "digest-only"
PULL_FROM_MIRROR_TAG_ONLY = "tag-only"
PULL_FROM_MIRROR_VALUES = ("", PULL_FROM_MIRROR_ALL, PULL_FROM_MIRROR_DIGEST_ONLY, PULL_FROM_MIRROR_TAG_ONLY)

WILDCARD_PREFIX = "*."


class Endpoint(Record):
    """A place to pull from: the primary location of an entry, or one of its mirrors."""

    __slots__ = ("location", "insecure", "pull_from_mirror", "origin")

    def __init__(
        self, location: str, insecure: bool = False, pull_from_mirror: str = "", origin: str = ""
    ) -> None:
        self.location = location
        self.insecure = insecure
        self.pull_from_mirror = pull_from_mirror
        self.origin = origin

    def allows(self, *, by_digest: bool) -> bool:
        """Whether this mirror may serve a digest (``by_digest``) or a tag reference."""
        if self.pull_from_mirror == PULL_FROM_MIRROR_DIGEST_ONLY:
            return by_digest
        if self.pull_from_mirror == PULL_FROM_MIRROR_TAG_ONLY:
            return not by_digest
        return True

    def as_dict(self) -> dict[str, object]:
        return {
            "location": self.location,
            "insecure": self.insecure,
            "pull_from_mirror": self.pull_from_mirror,
        }


class Registry(Record):
    """One ``[[registry]]`` entry.  ``prefix`` may be "" before post-processing (= location)."""

    __slots__ = (
        "prefix",
        "location",
        "insecure",
        "blocked",
        "mirror_by_digest_only",
        "mirrors",
        "pull_from_mirror",
        "origin",
        "blocked_by",
    )

    def __init__(
        self,
        prefix: str,
        location: str,
        insecure: bool = False,
        blocked: bool = False,
        mirror_by_digest_only: bool = False,
        mirrors: list[Endpoint] | None = None,
        pull_from_mirror: str = "",
        origin: str = "",
        blocked_by: str = "",
    ) -> None:
        self.prefix = prefix
        self.location = location
        self.insecure = insecure
        self.blocked = blocked
        self.mirror_by_digest_only = mirror_by_digest_only
        self.mirrors: list[Endpoint] = mirrors if mirrors is not None else []
        self.pull_from_mirror = (
            pull_from_mirror  # invalid on a primary entry; kept only so validation can reject it
        )
        self.origin = origin
        self.blocked_by = blocked_by  # why the entry is blocked when a policy (not the file) blocked it

    @property
    def scope(self) -> str:
        """The scope the entry applies to (runtime-utils ``registryScope``)."""
        return self.prefix or self.location

    @property
    def is_wildcard(self) -> bool:
        return self.scope.startswith(WILDCARD_PREFIX)

    def primary(self) -> Endpoint:
        return Endpoint(location=self.location, insecure=self.insecure, origin=self.origin)

    def allowed_mirrors(self, *, by_digest: bool) -> list[Endpoint]:
        """Mirrors usable for this kind of reference, in file order (``PullSourcesFromReference``)."""
        if self.mirror_by_digest_only:
            return list(self.mirrors) if by_digest else []
        return [m for m in self.mirrors if m.allows(by_digest=by_digest)]

    def as_dict(self) -> dict[str, object]:
        """The shape used by the conformance vectors (and handy for debugging)."""
        return {
            "prefix": self.prefix,
            "location": self.location,
            "insecure": self.insecure,
            "blocked": self.blocked,
            "mirror_by_digest_only": self.mirror_by_digest_only,
            "mirrors": [m.as_dict() for m in self.mirrors],
        }

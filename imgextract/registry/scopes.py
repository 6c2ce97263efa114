"""Token scopes (distribution token spec): ``repository:NAME:ACTIONS``."""

from __future__ import annotations


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def mount_scopes(repository: str, from_repository: str) -> tuple[str, ...]:
    """Push to ``repository`` and pull from the mount source."""
    return (push_scope(repository), pull_scope(from_repository))


def merge_scopes(*groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Union preserving first-seen order (the token endpoint takes repeated ``scope=``)."""
    out: list[str] = []
    for group in groups:
        for scope in group:
            if scope and scope not in out:
                out.append(scope)
    return tuple(out)

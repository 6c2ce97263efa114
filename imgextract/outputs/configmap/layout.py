"""Where a file from a ConfigMap belongs when nothing records its path: opm's rule.

opm puts every file of the manifests directory, then every file of the metadata
directory, into one flat key space; readers tell metadata files (annotations,
dependencies, properties) from manifests by their content, as opm's bundle parser does.
The writer uses the same rule to decide which paths need recording.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from imgextract.errors import InvalidBundleError
from imgextract.outputs.configmap.meta import MANIFESTS_DIR, METADATA_DIR

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_METADATA_KEYS = ("annotations", "dependencies", "properties")
# Cheap pre-check: a metadata document has one of its keys at the top level.
_CANDIDATE = re.compile(
    rb'^(annotations|dependencies|properties)\s*:|"(annotations|dependencies|properties)"\s*:', re.MULTILINE
)


def is_metadata(content: bytes) -> bool:
    """True when ``content``'s first YAML document is bundle metadata (annotations/dependencies/properties)."""
    if not _CANDIDATE.search(content):
        return False
    loader = _LOADER(content)  # the first document only, as opm's parser decodes the file
    try:
        doc: Any = loader.get_data() if loader.check_data() else None
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError):  # PyYAML on a mistagged value
        return False
    finally:
        loader.dispose()
    return isinstance(doc, dict) and "kind" not in doc and any(k in doc for k in _METADATA_KEYS)


def default_path(key: str, content: bytes) -> str:
    """The relative path a reader gives key ``key`` when no file-name map says otherwise."""
    return f"{METADATA_DIR if is_metadata(content) else MANIFESTS_DIR}/{key}"


def check_relative_path(path: str) -> str:
    """A normalised relative path with no ``..``, empty or absolute parts, else InvalidBundleError."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidBundleError(f"unsafe file path {path!r} in ConfigMap content")
    return path


def bundle_dir(value: str | None, default: str) -> str:
    """A bundle directory annotation (``manifests/``, ``/metadata``) as a relative dir without slashes."""
    cleaned = (value or "").strip().strip("/")
    if not cleaned:
        return default
    try:
        return check_relative_path(cleaned)
    except InvalidBundleError:
        return default

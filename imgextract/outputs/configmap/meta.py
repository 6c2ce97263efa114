"""Names shared by the ConfigMap writer and reader: annotation keys, labels, the size limit."""

from __future__ import annotations

import hashlib
import re

from imgextract.errors import UsageError

# Kubernetes: the values of data + binaryData (binaryData counted decoded) may not exceed this.
MAX_DATA_BYTES = 1024 * 1024
# Kubernetes: all annotations of one object (keys + values) may not exceed this.
MAX_ANNOTATION_BYTES = 256 * 1024


SOURCE_IMAGE = "olm.sourceImage"
CONTENT_ENCODING = "olm.contentEncoding"
GZIP_BASE64 = "gzip+base64"
OLM_MANAGED = "olm.managed"

RESOLVED_DIGEST = "bundle-extract/resolved-digest"
FILE_NAMES = "bundle-extract/file-names"
PART = "bundle-extract/part"

MANIFESTS_DIR = "manifests"
METADATA_DIR = "metadata"

# apimachinery's IsDNS1123Label / IsDNS1123Subdomain (matched whole: Go's "$" is the end of the text)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def default_name(pull_spec: str) -> str:
    """OLM's ConfigMap name for a bundle: the sha256 hex of the pull spec, cut to 63 characters."""
    return hashlib.sha256(pull_spec.encode("utf-8")).hexdigest()[:63]


def check_object_name(name: str, what: str = "ConfigMap name") -> str:
    """A DNS-1123 subdomain (what Kubernetes requires of ConfigMap names), else UsageError."""
    if not name or len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise UsageError(
            f"invalid {what} {name!r}: must be a lowercase DNS-1123 subdomain of at most 253 characters"
        )
    return name


def check_label_name(name: str, what: str) -> str:
    """A DNS-1123 label (what Kubernetes requires of a namespace, ``ValidateNamespaceName``), else
    UsageError."""
    if not name or len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise UsageError(
            f"invalid {what} {name!r}: must be a lowercase DNS-1123 label (letters, digits and '-', "
            "no dots) of at most 63 characters"
        )
    return name


def check_namespace(namespace: str) -> str:
    """A namespace name as the API server validates it: a DNS-1123 label."""
    return check_label_name(namespace, "namespace")

"""Validation against the Kubernetes OpenAPI schema shipped offline by kubernetes-validate."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

K8S_VERSION = "1.30.0"


def validate(obj: dict[str, Any]) -> None:
    """Raise kubernetes_validate.ValidationError unless ``obj`` is valid (strict: no unknown fields)."""
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)

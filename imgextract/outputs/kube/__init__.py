"""Kubernetes objects that run bundle-extract in a cluster (the Job that writes a bundle's ConfigMap)."""

from __future__ import annotations

from imgextract.outputs.kube.job import render_job

__all__ = ["render_job"]

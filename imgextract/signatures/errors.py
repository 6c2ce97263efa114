"""Errors of signature verification: a policy that cannot be used, and an image it refuses."""

from __future__ import annotations

from imgextract.errors import ConfigError, SignatureRefused

__all__ = ["PolicyError", "SignatureRefused"]


class PolicyError(ConfigError):
    """policy.json or registries.d cannot be read, parsed or used (a key file is missing, a field is
    unknown or of the wrong type, a requirement needs something bundle-extract does not support).
    Never an accept and never a refusal: the user must fix the configuration."""

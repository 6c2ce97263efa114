"""Registry credentials: where they come from, how they are matched, and how they stay secret.

Public API: :class:`Credentials`, :class:`CredentialStore` (see ``docs/auth.md`` for the
lookup order), :mod:`imgextract.auth.redact` and :mod:`imgextract.auth.challenge`.
"""

from imgextract.auth.credentials import Credentials
from imgextract.auth.store import CredentialStore

__all__ = ["Credentials", "CredentialStore"]

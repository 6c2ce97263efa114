"""HTTP Basic: the ``Authorization`` value for a user name and password."""

from __future__ import annotations

import base64

from imgextract.auth.credentials import Credentials


def basic_authorization(credentials: Credentials | None) -> str | None:
    """``Basic base64(user:password)``, or None when there is no user name/password to send."""
    if credentials is None or not (credentials.username or credentials.password):
        return None
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")

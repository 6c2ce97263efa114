"""A password typed into a reference never comes back in the library's error, whatever it holds
(``/`` and ``@`` included: user information ends at the last ``@`` that starts no digest)."""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidReference
from imgextract.reference import parse_reference, userinfo_end

SECRET = "p/ss@w0rd"
DIGEST = "sha256:" + "d" * 64


@pytest.mark.parametrize(
    "typed",
    [
        f"bob:{SECRET}@quay.io/ns/app",
        f"https://bob:{SECRET}@quay.io/ns/app:1",
        f"docker://bob:{SECRET}@quay.io/ns/app@{DIGEST}",
        f"bob:{SECRET}@localhost:5000",
        f"bob:{SECRET}@quay.io",
    ],
)
def test_the_password_is_not_in_the_error(typed: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(typed)
    exc = caught.value
    assert SECRET not in str(exc)
    assert exc.reference is not None and SECRET not in exc.reference
    assert "***@" in exc.reference


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("quay.io/ns/app", -1),
        (f"quay.io/ns/app@{DIGEST}", -1),
        (f"app:1@{DIGEST}", -1),
        ("quay.io/ns/app@sha256:short", -1),  # a malformed digest: its own error says so
        ("bob:pw@localhost:5000", 6),
        ("bob:p/w@quay.io/x", 7),
        (f"bob:p@w@quay.io/x@{DIGEST}", 7),
    ],
)
def test_where_user_information_ends(text: str, end: int) -> None:
    assert userinfo_end(text) == end

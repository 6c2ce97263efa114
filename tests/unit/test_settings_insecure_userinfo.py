"""``insecure_registries`` entries holding user information are refused, and the password is
neither in the error nor in a client's repr."""

from __future__ import annotations

import pytest

import imgextract
from imgextract.errors import UsageError

SECRET = "hunter/2"


@pytest.mark.parametrize("host", [f"bob:{SECRET}@localhost:5000", f"https://bob:{SECRET}@localhost:5000"])
def test_user_information_in_an_insecure_registry_is_refused(host: str) -> None:
    with pytest.raises(UsageError) as caught:
        imgextract.Client(insecure_registries=[host])
    assert SECRET not in str(caught.value)
    assert "localhost:5000" in str(caught.value)

"""What a library user's logs and tracebacks may show: no credential, no environment.

A pipeline logs its configuration (``log.debug("%r", client.settings)``) and tracebacks print
locals; ``creds`` and the environment the settings were read from (which holds tokens such as
``$DOCKER_AUTH_CONFIG``) must not appear in any repr.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import imgextract
from imgextract.settings import AuthSettings, MirrorSettings, Settings

SECRET = "s3cr3t-Passw0rd"
ENV = {"HOME": "/nonexistent", "DOCKER_AUTH_CONFIG": f'{{"auths":{{"x":{{"auth":"{SECRET}"}}}}}}'}


def test_settings_repr_hides_credentials_and_the_environment() -> None:
    settings = Settings.from_options(creds=f"user:{SECRET}", env=ENV, insecure_registries=["localhost:5000"])
    for text in (repr(settings), str(settings), repr(settings.auth), repr(settings.mirrors)):
        assert SECRET not in text
        assert "DOCKER_AUTH_CONFIG" not in text
    assert "creds=<redacted>" in repr(settings.auth)
    assert "localhost:5000" in repr(settings)  # the rest stays visible
    assert repr(AuthSettings()) == "AuthSettings(creds=None, authfile=None, pull_secret=None)"
    assert "env=" not in repr(MirrorSettings(env=ENV))


def test_settings_still_compare_by_every_field() -> None:
    a = Settings.from_options(creds=f"user:{SECRET}", env=ENV, platform="linux/amd64")
    assert a == Settings.from_options(creds=f"user:{SECRET}", env=ENV, platform="linux/amd64")
    assert a != Settings.from_options(creds="user:other", env=ENV, platform="linux/amd64")
    assert a.auth.creds == f"user:{SECRET}"


def test_client_repr_names_its_state_without_credentials() -> None:
    client = imgextract.Client(creds=f"user:{SECRET}", env=ENV, insecure_registries=["localhost:5000"])
    text = repr(client)
    assert SECRET not in text and "DOCKER_AUTH_CONFIG" not in text
    assert text.startswith("<Client ") and "open" in text
    client.close()
    assert "closed" in repr(client)


@pytest.mark.parametrize(
    "ref",
    [
        f"https://bob:{SECRET}@quay.io/ns/app:v1",
        f"docker://bob:{SECRET}@quay.io/ns/app",
        f"bob:{SECRET}@quay.io/ns/app",
        f"Bob:{SECRET}@quay.io/NS/app",
        f"bob:{SECRET}@quay.io",
    ],
)
def test_a_password_typed_into_a_reference_never_comes_back_in_an_error(ref: str, tmp_path: Path) -> None:
    """The command line refuses such a reference with its own words; the library raised
    InvalidReference whose ``reference`` (and so ``str``) repeated the password."""
    calls = [
        lambda: imgextract.parse_reference(ref),
        lambda: imgextract.inspect(ref, env={"HOME": str(tmp_path)}),
        lambda: imgextract.copy("localhost:1/src:v1", ref, env={"HOME": str(tmp_path)}),
    ]
    for call in calls:
        with pytest.raises(imgextract.InvalidReference) as caught:
            call()
        exc = caught.value
        for text in (str(exc), repr(exc), repr(exc.__dict__), repr(exc.args)):
            assert SECRET not in text
        assert exc.reference is not None and "***@quay.io" in exc.reference


def test_copy_result_hashes_by_value() -> None:
    """A frozen result with mapping fields hashes by value (its generated hash refused the dicts)."""

    def make() -> imgextract.CopyResult:
        return imgextract.CopyResult("s", "d", "d@sha256:x", "sha256:x", None, {"a": "b"}, (), {}, {"new": 1})

    assert make() == make() and hash(make()) == hash(make()) and len({make(), make()}) == 1

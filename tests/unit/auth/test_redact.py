"""No secret in repr/str, log output or redacted text."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import pytest

from imgextract.auth import Credentials, CredentialStore
from imgextract.auth.redact import MASK, RedactingFilter, install, redact, register_secret


def test_repr_and_str_hide_every_secret() -> None:
    creds = Credentials(
        username="alice",
        password="pw-in-repr-1",
        identity_token="id-in-repr-2",
        registry_token="reg-in-repr-3",
    )
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), str({"c": creds})):
        assert "pw-in-repr-1" not in text and "id-in-repr-2" not in text and "reg-in-repr-3" not in text
        assert "alice" in text
    assert repr(creds) == (
        "Credentials(username='alice', password='***', identity_token='***', registry_token='***')"
    )
    assert repr(Credentials(username="bob")) == "Credentials(username='bob')"


def test_credentials_register_plain_and_basic_forms() -> None:
    Credentials(username="carol", password="carol-secret-77")
    basic = base64.b64encode(b"carol:carol-secret-77").decode()
    text = redact(
        f"password carol-secret-77 header Basic {basic} raw {base64.b64encode(b'carol-secret-77').decode()}"
    )
    assert "carol-secret-77" not in text and basic not in text
    assert text.count(MASK) >= 3


def test_patterns_redacted_without_registration() -> None:
    text = redact(
        "GET https://joe:unregistered-pw@registry.example/v2/ Authorization: Bearer eyJunregistered "
        'token?access_token=tok-unreg-1&scope=x {"token": "tok-unreg-2", "Secret": "tok-unreg-3"}'
    )
    for leaked in ("unregistered-pw", "eyJunregistered", "tok-unreg-1", "tok-unreg-2", "tok-unreg-3"):
        assert leaked not in text
    assert "registry.example/v2/" in text and "scope=x" in text


def test_short_and_empty_values_are_not_registered() -> None:
    register_secret("")
    register_secret("ab")
    assert redact("a tab bar") == "a tab bar"


def _logger_with_filter() -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("imgextract.test.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream, handler


def test_logging_filter_redacts_message_args_and_traceback() -> None:
    register_secret("log-secret-abc")
    logger, stream, handler = _logger_with_filter()
    try:
        logger.warning("using %s for %s", "log-secret-abc", "quay.io")
        try:
            raise ValueError("failed with log-secret-abc")
        except ValueError:
            logger.exception("boom")
        logger.info("stack", stack_info=True, extra={"x": 1})
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "log-secret-abc" not in out
    assert "using *** for quay.io" in out
    assert "ValueError: failed with ***" in out


def test_install_adds_filter_once() -> None:
    handler = logging.StreamHandler(io.StringIO())
    install(handler)
    install(handler)
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1


def test_no_secret_reaches_logs_during_lookups(
    tmp_path: Path, env: dict[str, str], home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Drive the store through warnings and debug output; nothing secret may show up."""
    secrets = {"user": "erin", "pw": "lookup-secret-pw-1", "tok": "lookup-identity-2"}
    auth = base64.b64encode(f"{secrets['user']}:{secrets['pw']}".encode()).decode()
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "quay.io/bad": {"auth": "bG9va3VwLW5vLWNvbG9uLXNlY3JldA=="},  # no ':' after decoding
                    "quay.io": {"auth": auth, "identitytoken": secrets["tok"]},
                }
            }
        )
    )
    with caplog.at_level(logging.DEBUG):
        store = CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None, env=env)
        creds = store.lookup("quay.io", "bad/app")
        logging.getLogger("imgextract").info("got %r / %s", creds, creds)
    assert creds == Credentials(username="erin", password=secrets["pw"], identity_token=secrets["tok"])
    text = caplog.text
    for leaked in (secrets["pw"], secrets["tok"], auth, "lookup-no-colon-secret", "bG9va3VwLW5vLWNvbG9u"):
        assert leaked not in text
    assert "quay.io/bad" in text  # the key is named, the value is not

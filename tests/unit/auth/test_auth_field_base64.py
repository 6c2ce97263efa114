"""How the ``auth`` field (base64 of ``user:password``) is decoded, per reader.

- auth.json / config.json / ``~/.dockercfg``: containers/image ``decodeDockerAuth`` uses Go's
  ``base64.StdEncoding.DecodeString``, which skips ``\\r`` and ``\\n`` anywhere in the text (a
  long token wrapped by ``base64`` at 76 columns and stored with ``jq --arg`` keeps them) but
  refuses any other character, spaces included; padding is required.  NUL bytes around the
  password are trimmed.
- Kubernetes pull secrets: kubelet ``decodeDockerConfigFieldAuth`` decodes a value ending in
  ``=`` with ``StdEncoding`` and any other with ``RawStdEncoding`` (no padding), so an unpadded
  value is valid there; the password is used as decoded (no NUL trimming).
"""

from __future__ import annotations

import base64
import json
import logging

import pytest

from imgextract.auth.authfile import AuthFile
from imgextract.auth.pullsecret import parse_pull_secret

TOKEN = "x" * 100  # long enough for ``base64`` to wrap the encoding at 76 columns
PAIR = f"robot:{TOKEN}"


def _wrapped(text: str, eol: str = "\n") -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return eol.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _auth_file(auth: str) -> AuthFile:
    return AuthFile.parse(json.dumps({"auths": {"quay.io": {"auth": auth}}}), "auth.json")


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_auth_json_skips_line_breaks_in_auth(eol: str) -> None:
    """containers/image ``decodeDockerAuth``: Go's ``StdEncoding`` ignores CR and LF in the text."""
    auth = _wrapped(PAIR, eol)
    assert eol in auth
    creds = _auth_file(auth).lookup("quay.io/ns/app")
    assert creds is not None
    assert (creds.username, creds.password) == ("robot", TOKEN)


@pytest.mark.parametrize(
    "auth",
    [
        " " + base64.b64encode(b"u:p").decode(),
        base64.b64encode(b"u:p").decode() + " ",
        base64.b64encode(b"u:p").decode() + "\t",
        base64.b64encode(b"user:pa").decode().rstrip("="),  # unpadded: StdEncoding refuses it
    ],
)
def test_auth_json_refuses_other_non_base64(auth: str, caplog: pytest.LogCaptureFixture) -> None:
    """containers/image ``decodeDockerAuth``: spaces, tabs or missing padding are illegal base64 data
    (the entry is skipped with a warning, our documented choice for a malformed entry)."""
    with caplog.at_level(logging.WARNING):
        assert _auth_file(auth).lookup("quay.io/ns/app") is None
    assert "malformed" in caplog.text


def test_auth_json_trims_nul_around_password() -> None:
    """containers/image ``decodeDockerAuth``: ``strings.Trim(password, "\\x00")``."""
    creds = _auth_file(base64.b64encode(b"u:\x00pw\x00\x00").decode()).lookup("quay.io/x")
    assert creds is not None and creds.password == "pw"


def _secret(auth: str) -> str:
    return json.dumps({"auths": {"quay.io": {"auth": auth}}})


def test_pull_secret_accepts_unpadded_auth() -> None:
    """kubelet ``decodeDockerConfigFieldAuth``: no trailing ``=`` means ``RawStdEncoding``."""
    unpadded = base64.b64encode(b"user:pa").decode().rstrip("=")
    assert not unpadded.endswith("=")
    found = parse_pull_secret(_secret(unpadded), "secret.json").lookup("quay.io/ns/app")
    assert [(c.username, c.password) for c in found] == [("user", "pa")]


def test_pull_secret_skips_line_breaks_in_auth() -> None:
    """kubelet ``decodeDockerConfigFieldAuth``: Go's decoders ignore CR and LF."""
    found = parse_pull_secret(_secret(_wrapped(PAIR)), "secret.json").lookup("quay.io/ns/app")
    assert [(c.username, c.password) for c in found] == [("robot", TOKEN)]


def test_pull_secret_keeps_nul_in_password() -> None:
    """kubelet ``decodeDockerConfigFieldAuth``: the password is the text after the first ``:``, as is."""
    auth = base64.b64encode(b"u:pw\x00").decode()
    found = parse_pull_secret(_secret(auth), "secret.json").lookup("quay.io/x")
    assert [c.password for c in found] == ["pw\x00"]


@pytest.mark.parametrize(
    "auth",
    [
        base64.b64encode(b"user:pa").decode() + "==",  # excess padding
        base64.b64encode(b"user:p").decode() + "A",  # a lone trailing character (length 4n+1)
        "dXNlcjpw=YQ",  # padding inside the text: RawStdEncoding has no padding at all
    ],
)
def test_pull_secret_refuses_bad_base64(auth: str, caplog: pytest.LogCaptureFixture) -> None:
    """kubelet ``decodeDockerConfigFieldAuth``: what Go's decoders refuse is not a credential."""
    with caplog.at_level(logging.WARNING):
        assert parse_pull_secret(_secret(auth), "secret.json").lookup("quay.io/x") == []
    assert "malformed" in caplog.text


def test_auth_json_refuses_padding_where_a_quantum_starts(caplog: pytest.LogCaptureFixture) -> None:
    """containers/image ``decodeDockerAuth``: ``StdEncoding.DecodeString`` of ``<valid base64>=``
    fails (illegal data at the extra ``=``); Python's ``b64decode`` would drop it silently."""
    auth = base64.b64encode(b"user:pass").decode()
    assert len(auth) % 4 == 0 and not auth.endswith("=")
    assert _auth_file(auth).lookup("quay.io/ns/app") is not None
    with caplog.at_level(logging.WARNING):
        assert _auth_file(auth + "=").lookup("quay.io/ns/app") is None
    assert "malformed" in caplog.text or "skipping" in caplog.text

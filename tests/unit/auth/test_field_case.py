"""Auth files and credential-helper answers are decoded by Go's ``encoding/json`` upstream
(containers/image ``pkg/docker/config``: ``dockerConfigFile``/``dockerAuthConfig``; the
docker-credential-helpers client's ``credentials.Credentials``), which matches struct fields
exactly or, failing that, case-insensitively, and lets a later key for the same field win."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from imgextract.auth.authfile import AuthFile
from imgextract.auth.credentials import decode_entry
from imgextract.auth.helpers import run_helper


def _auth(user: str, pw: str) -> str:
    return base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_auth_file_fields_in_any_case() -> None:
    f = AuthFile.parse(
        '{"Auths": {"quay.io": {"Auth": "' + _auth("u", "p") + '"}}, "CredHelpers": {"r.example": "x"}}',
        "auth.json",
    )
    assert set(f.auths) == {"quay.io"}
    assert f.cred_helpers == {"r.example": "x"}
    creds = decode_entry(f.auths["quay.io"])
    assert creds is not None and (creds.username, creds.password) == ("u", "p")
    token = decode_entry({"IdentityToken": "tok"})
    assert token is not None and token.identity_token == "tok"


def test_a_later_key_for_the_same_field_wins() -> None:
    creds = decode_entry({"auth": _auth("a", "1"), "AUTH": _auth("b", "2")})
    assert creds is not None and (creds.username, creds.password) == ("b", "2")


def test_helper_answer_fields_in_any_case(tmp_path: Path) -> None:
    exe = tmp_path / "docker-credential-lower"
    exe.write_text('#!/bin/sh\nread -r url\necho \'{"serverurl":"x","username":"hubuser","secret":"s3"}\'\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    creds = run_helper("lower", "quay.io", env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert creds is not None and (creds.username, creds.password) == ("hubuser", "s3")

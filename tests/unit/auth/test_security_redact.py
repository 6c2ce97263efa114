"""Security: presigned blob URLs (S3, GCS, Azure SAS) logged by the transport at -vvv carry bearer-like
signatures and session tokens in the query string; they are masked like access tokens."""

from __future__ import annotations

import pytest

from imgextract.auth.redact import MASK, redact


@pytest.mark.parametrize(
    "param",
    [
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "X-Amz-Credential",
        "X-Goog-Signature",
        "X-Goog-Credential",
        "Signature",
        "sig",
    ],
)
def test_presigned_url_signature_is_masked(param: str) -> None:
    line = f'https://bucket.s3.amazonaws.com:443 "GET /docker/blobs/data?X-Amz-Date=20261123&{param}=SeCrEtVaLuE123&x=1 HTTP/1.1" 200 5'
    out = redact(line)
    assert "SeCrEtVaLuE123" not in out
    assert f"{param}={MASK}" in out
    assert "X-Amz-Date=20261123" in out

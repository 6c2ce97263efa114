from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from imgextract.errors import ConfigError
from imgextract.registry.tls import build_ssl_context, find_tls_material
from imgextract.registry.transport import TransportSettings, new_session


def _certs_d(tmp_path: Path) -> tuple[Path, trustme.CA]:
    ca = trustme.CA()
    host_dir = tmp_path / "certs.d" / "localhost:5000"
    host_dir.mkdir(parents=True)
    ca.cert_pem.write_to_path(str(host_dir / "ca.crt"))
    client = ca.issue_cert("client.example")
    client.cert_chain_pems[0].write_to_path(str(host_dir / "client.cert"))
    client.private_key_pem.write_to_path(str(host_dir / "client.key"))
    return tmp_path / "certs.d", ca


def test_certs_d_layout(tmp_path: Path) -> None:
    cert_dir, _ = _certs_d(tmp_path)
    material = find_tls_material(("localhost:5000",), None, cert_dir)
    assert [p.name for p in material.ca_files] == ["ca.crt"]
    assert material.client_cert is not None
    assert [p.name for p in material.client_cert] == ["client.cert", "client.key"]
    build_ssl_context(material)  # loads without error


def test_other_host_gets_nothing(tmp_path: Path) -> None:
    cert_dir, _ = _certs_d(tmp_path)
    assert find_tls_material(("localhost:5001",), None, cert_dir).empty


def test_cert_without_key_is_config_error(tmp_path: Path) -> None:
    cert_dir, _ = _certs_d(tmp_path)
    (cert_dir / "localhost:5000" / "client.key").unlink()
    with pytest.raises(ConfigError, match="no matching key"):
        find_tls_material(("localhost:5000",), None, cert_dir)


def test_missing_ca_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        find_tls_material(("x",), tmp_path / "nope.pem", None)


def test_bad_ca_file_is_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError):
        build_ssl_context(find_tls_material(("x",), bad, None))


def _subjects(context: ssl.SSLContext) -> set[str]:
    return {str(cert.get("subject")) for cert in context.get_ca_certs()}


def test_sessions(tmp_path: Path) -> None:
    cert_dir, ca = _certs_d(tmp_path)
    settings = TransportSettings(cert_dir=cert_dir, user_agent="ua/1")
    insecure = new_session(("localhost:5000",), settings, insecure=True)
    assert insecure.material.client_cert is not None
    assert insecure.tls_context().verify_mode == ssl.CERT_NONE
    secure = new_session(("localhost:5000",), settings, insecure=False)
    assert secure.user_agent == "ua/1"
    context = secure.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    bare = new_session(("other:5000",), TransportSettings(), insecure=False).tls_context()
    assert _subjects(context) - _subjects(bare)  # the certs.d CA, on top of the system's and certifi's
    assert len(_subjects(bare)) > 50  # certifi's bundle is in the trust store


def test_the_trust_store_is_built_on_the_first_https_connection_only(tmp_path: Path) -> None:
    session = new_session(("h",), TransportSettings(), insecure=False)
    assert session._context is None  # nothing loaded for a transport that never speaks TLS
    session.tls_context()
    assert session._context is not None

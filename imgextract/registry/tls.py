"""TLS material for one registry host: ``--ca-file`` and the containers ``certs.d`` layout.

Trust for a verified registry is the system's CAs (OpenSSL's defaults, so ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` apply) plus certifi's bundle (the trust store requests used, so nothing that
verified before stops verifying), plus ``--ca-file`` and ``certs.d``.

``<cert_dir>/<host[:port]>/`` holds ``*.crt`` files (extra CAs, added to the system trust) and
``*.cert`` / ``*.key`` pairs (a client certificate; a ``.cert`` without its ``.key`` is an error,
as in containers/image).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Final

from imgextract.errors import ConfigError
from imgextract.records import FrozenRecord


class TLSMaterial(FrozenRecord):
    """Extra CA files and the client certificate pair for one registry host (``--ca-file``, certs.d)."""

    __slots__ = ("ca_files", "client_cert")

    def __init__(self, ca_files: tuple[Path, ...] = (), client_cert: tuple[Path, Path] | None = None) -> None:
        self.ca_files: Final = ca_files
        self.client_cert: Final = client_cert

    @property
    def empty(self) -> bool:
        return not self.ca_files and self.client_cert is None


def find_tls_material(hosts: tuple[str, ...], ca_file: Path | None, cert_dir: Path | None) -> TLSMaterial:
    """CA files and client certificate that apply to the first of ``hosts`` with a ``certs.d`` directory."""
    cas: list[Path] = []
    if ca_file is not None:
        if not ca_file.is_file():
            raise ConfigError(f"CA file {ca_file} does not exist")
        cas.append(ca_file)
    client: tuple[Path, Path] | None = None
    if cert_dir is not None:
        for host in hosts:
            host_dir = cert_dir / host
            if not host_dir.is_dir():
                continue
            cas.extend(sorted(host_dir.glob("*.crt")))
            for cert in sorted(host_dir.glob("*.cert")):
                key = cert.with_suffix(".key")
                if not key.is_file():
                    raise ConfigError(f"client certificate {cert} has no matching key {key.name}")
                client = client or (cert, key)
            for key in sorted(host_dir.glob("*.key")):
                if not key.with_suffix(".cert").is_file():
                    raise ConfigError(f"client key {key} has no matching certificate")
            break
    return TLSMaterial(ca_files=tuple(cas), client_cert=client)


def build_ssl_context(material: TLSMaterial) -> ssl.SSLContext:
    """System + certifi trust, plus the extra CAs; the client certificate loaded when present."""
    import certifi  # loaded with the first verified https connection only

    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    for ca in material.ca_files:
        try:
            context.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot load CA certificates from {ca}: {exc.__class__.__name__}") from None
    if material.client_cert is not None:
        load_client_cert(context, material.client_cert)
    return context


def load_client_cert(context: ssl.SSLContext, client_cert: tuple[Path, Path]) -> None:
    """Present ``(certificate, key)`` to servers that ask for a client certificate."""
    cert, key = client_cert
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot load client certificate {cert}: {exc.__class__.__name__}") from None

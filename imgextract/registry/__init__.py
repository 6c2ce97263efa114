"""Registry HTTP client (distribution spec) over requests: one concern per module.

transport (settings, session, TLS via tls), ping, authorizer (basic, bearer, scopes), retry,
redirects, requester (the request loop), blobstream (resumable blob reads), upload, client.
"""

from imgextract.registry.client import ManifestResponse, RegistryClient
from imgextract.registry.transport import TransportSettings

__all__ = ["ManifestResponse", "RegistryClient", "TransportSettings"]

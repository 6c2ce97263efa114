"""Registry HTTP client (distribution spec), speaking HTTP/1.1 on the standard library's sockets:
one concern per module.

exceptions, response (requests and streamed answers), proxies, wire (the HTTP/1.1 exchange),
connections (connect, tunnel, TLS; pools per origin), watchdog (deadlines), transport (settings,
TLS via tls), ping, authorizer (basic, bearer, scopes), retry, redirects, requester (the request
loop), blobstream (resumable blob reads), ranges, upload, lookaside, client.
"""

from imgextract.registry.client import ManifestResponse, RegistryClient
from imgextract.registry.transport import TransportSettings

__all__ = ["ManifestResponse", "RegistryClient", "TransportSettings"]

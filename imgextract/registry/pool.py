"""One ``RegistryClient`` per registry endpoint, shared by every operation of a client.

Each ``RegistryClient`` owns one transport: its pooled connections, one ``/v2/`` ping, one
token cache.  Reusing them is what makes a second pull from the same registry cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from imgextract.registry.client import RegistryClient

Factory = Callable[[str, bool], RegistryClient]


class ClientPool:
    """``get(registry, insecure=...)`` returns the same client for the same endpoint; thread-safe."""

    def __init__(self, factory: Factory) -> None:
        self._factory = factory
        self._clients: dict[tuple[str, bool], RegistryClient] = {}
        self._lock = threading.Lock()

    def get(self, registry: str, *, insecure: bool) -> RegistryClient:
        """The client of ``registry`` (plain HTTP / unverified TLS allowed when ``insecure``)."""
        key = (registry, insecure)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._factory(registry, insecure)
            return client

    def registries(self) -> list[str]:
        """The registry endpoints with a client now, sorted (for reprs and logs)."""
        with self._lock:
            return sorted({registry for registry, _insecure in self._clients})

    def close(self) -> None:
        """Close every client's connections."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

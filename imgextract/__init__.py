"""bundle-extract: pull container images from OCI registries and extract what matters."""

__version__ = "0.1.0"

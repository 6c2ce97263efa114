"""bundle-extract: pull container images from OCI registries and extract what matters."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``imgextract.Catalog``: loaded on first use (the CLI's start-up does not pay for it)."""
    if name == "Catalog":
        from imgextract.catalog import Catalog

        return Catalog
    raise AttributeError(f"module 'imgextract' has no attribute {name!r}")

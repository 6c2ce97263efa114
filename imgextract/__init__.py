"""bundle-extract: pull container images from OCI registries and extract what matters."""

__version__ = "0.1.0"


def render(refs: "list[str] | str", **kwargs: "object") -> "list[dict[str, object]]":
    """Render bundle/catalog images and directories as ``opm render`` does (``imgextract.rendering``)."""
    from imgextract.rendering import render as _render

    return _render(refs, **kwargs)  # type: ignore[arg-type]

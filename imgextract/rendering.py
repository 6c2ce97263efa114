"""``render``: opm-identical ``olm.bundle`` (and FBC) objects, the operation behind ``Client.render``.

Bundle images, catalog images, bundle directories and FBC directories render the way ``opm render``
renders them (the rules live in :mod:`imgextract.catalog.render`), through one client: its mirror
rules, credentials, connection pools and content cache serve every reference.  :func:`encode` gives
opm's bytes (``json``, ``yaml``) or one compact object per line (``ndjson``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from imgextract import oci
from imgextract.catalog.render import FORMATS
from imgextract.catalog.render.pipeline import (
    RenderError,
    RenderOptions,
    render_refs,
    render_refs_chunks,
    render_refs_output,
)
from imgextract.errors import ImgExtractError, InvalidBundleError, LocalFilesystemError, UsageError
from imgextract.pull.resolve import Located, ResolvedImage
from imgextract.reference import Reference, names_a_path

__all__ = ["FORMATS", "encode", "render", "render_output", "render_raw", "write_output"]


class Session(Protocol):
    """What rendering needs from a client (``imgextract.Client`` is one)."""

    @property
    def cache(self) -> Any: ...

    @property
    def verifier(self) -> Any: ...

    def prepare(self) -> None: ...

    def locate(self, ref: Reference) -> Located: ...

    def resolve(
        self, ref: Reference, platform: oci.Platform | None = None, *, located: Located | None = None
    ) -> ResolvedImage: ...


class Writable(Protocol):
    """Where :func:`write_output` writes (a binary file, ``sys.stdout.buffer``)."""

    def writelines(self, lines: Iterable[bytes | memoryview], /) -> None: ...

    def flush(self) -> None: ...


class _ClientSource:
    """The pull machinery as the renderer's ImageSource."""

    def __init__(self, session: Session) -> None:
        self.session = session
        cache = session.cache
        self.cache_root: Path | None = cache.root if cache is not None else None

    def resolve(self, ref: str) -> Any:
        return self.locate(ref)[1]()

    def locate(self, ref: str) -> tuple[str | None, Callable[[], Any]]:
        """One manifest request (none for a digest the cache holds): the image manifest's digest,
        unless ``ref`` names an index (its platform is chosen with the rest) or a signature policy
        must judge the image first; and the call that resolves the rest."""
        from imgextract.reference import parse_reference

        session = self.session
        try:
            parsed = parse_reference(ref)
            if session.verifier is not None:  # nothing is served before the policy accepts the image
                return None, lambda: self._named(ref, lambda: session.resolve(parsed))
            located = session.locate(parsed)
        except ImgExtractError as exc:
            exc.reference = exc.reference or ref
            raise
        digest = None if located.is_index else located.digest
        return digest, lambda: self._named(ref, lambda: session.resolve(parsed, located=located))

    @staticmethod
    def _named(ref: str, call: Callable[[], ResolvedImage]) -> ResolvedImage:
        try:
            return call()
        except ImgExtractError as exc:
            exc.reference = exc.reference or ref
            raise

    def read_tree(self, image: Any, paths: tuple[str, ...]) -> Any:
        """The selected files in memory when the image's layers are small and plain, else None."""
        from imgextract.layers.applier import Limits
        from imgextract.pull.extract import read_small_tree

        return read_small_tree(image, paths, Limits())

    def load_ahead(self) -> None:
        """Import what :meth:`resolve` and :meth:`read_tree` take after the manifest request: the
        manifest and config types, the layer reader with its decompression and checks."""
        from imgextract.layers import decompress, memtree, verify  # noqa: F401
        from imgextract.oci import config, manifest  # noqa: F401
        from imgextract.pull import extract  # noqa: F401

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        from imgextract.bundles.detect import Plan
        from imgextract.layers.applier import Limits
        from imgextract.progress import NoProgress
        from imgextract.pull.extract import extract

        extract(image, Plan("image", paths), dest, Limits(), NoProgress())


def _source(session: Session | None, refs: list[str]) -> _ClientSource | None:
    if all(os.path.exists(r) for r in refs):
        return None
    if session is None:
        raise UsageError("rendering an image needs a client (registry access)")
    session.prepare()
    return _ClientSource(session)


def _library_error(exc: RenderError) -> ImgExtractError:
    if exc.kind == "usage":
        return UsageError(str(exc))
    if exc.kind == "io":
        return LocalFilesystemError(str(exc))
    return InvalidBundleError(str(exc))


_T = TypeVar("_T")

Refs = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""What render takes: one reference or directory, or several (image references as text, directories
as text or paths)."""


def _run(
    session: Session | None,
    refs: Refs,
    call: Callable[[list[str], _ClientSource | None], _T],
) -> _T:
    """``call(refs, source)`` with the image source the references need; its errors as the library's."""
    names = [os.fspath(refs)] if isinstance(refs, (str, os.PathLike)) else [os.fspath(r) for r in refs]
    for name in names:
        if names_a_path(name) and not os.path.lexists(name):
            raise UsageError(
                f"{name}: no such directory (render takes image references and bundle or catalog directories)"
            )
    try:
        return call(names, _source(session, names))
    except RenderError as exc:
        raise _library_error(exc) from exc


def render_raw(
    session: Session | None,
    refs: Refs,
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 16,
    pin_cpu: bool = True,
) -> list[dict[str, Any]]:
    """The rendered objects in opm's shape (property values kept as the JSON text opm writes).
    ``session`` may be None when every reference is a directory."""
    options = RenderOptions(
        migrate_level=migrate_level, image_ref_template=image_ref_template, jobs=jobs, pin_cpu=pin_cpu
    )
    return _run(session, refs, lambda names, source: render_refs(names, source, options))


def render_output(
    session: Session | None,
    refs: Refs,
    fmt: str = "json",
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 16,
    pin_cpu: bool = True,
) -> bytes:
    """``encode(render_raw(...), fmt)`` as UTF-8 bytes (surrogates escaped), what the command writes:
    each reference's objects are encoded as they render, and a bundle image rendered before at the
    same digest, level and format comes from the content cache as text."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    options = RenderOptions(
        migrate_level=migrate_level, image_ref_template=image_ref_template, jobs=jobs, pin_cpu=pin_cpu
    )
    return _run(session, refs, lambda names, source: render_refs_output(names, fmt, source, options))


def write_output(
    session: Session | None,
    refs: Refs,
    out: Writable | BinaryIO,
    fmt: str = "json",
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 16,
    pin_cpu: bool = True,
) -> None:
    """Write what :func:`render_output` returns to ``out`` (once every reference rendered, as the
    command does), object by object: the whole text is never copied into one buffer."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    options = RenderOptions(
        migrate_level=migrate_level, image_ref_template=image_ref_template, jobs=jobs, pin_cpu=pin_cpu
    )
    chunks = _run(session, refs, lambda names, source: render_refs_chunks(names, fmt, source, options))
    out.writelines(chunks)
    out.flush()


def render(
    session: Session | None,
    refs: Refs,
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 16,
    pin_cpu: bool = True,
) -> list[dict[str, Any]]:
    """Render ``refs`` as ``opm render`` would: plain dicts (property values decoded), in opm's order."""
    from imgextract.catalog.render.writer import opm_order, to_python

    objs = render_raw(
        session,
        refs,
        migrate_level=migrate_level,
        image_ref_template=image_ref_template,
        jobs=jobs,
        pin_cpu=pin_cpu,
    )
    return [to_python(o) for o in opm_order(objs)]


def encode(objs: Sequence[dict[str, Any]], fmt: str = "json") -> str:
    """``opm render -o json|yaml`` text of objects from :func:`render_raw` (or plain FBC dicts);
    ``ndjson``: one compact object per line."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    from imgextract.catalog.render.writer import write

    buf = io.StringIO()
    write(objs, buf, fmt)
    return buf.getvalue()

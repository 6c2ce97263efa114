"""``render REF...``: bundle images, catalog images, bundle directories and FBC directories.

Dispatch follows opm's ``alpha/action/render.go``: a path that exists is a directory (a bundle when it
has ``manifests/`` and ``metadata/`` directories, otherwise an FBC root) and anything else is an image,
whose labels decide: ``...index.configs.v1`` (FBC at that path), ``...index.database.v1`` alone (a
sqlite index: refused), ``...bundle.package.v1`` (a bundle); otherwise opm's "image type could not be determined".
Each reference's objects are then migrated to the requested level.

Images come from an :class:`ImageSource` (resolution, extraction and the content cache are the
pull machinery's business); references render concurrently on a bounded pool.  A bundle image's
rendering is kept in the content cache under its manifest digest, the reference and the renderer's
version, so the next run re-reads only the manifest.  :func:`render_refs_output` (the command's
path) also keeps each bundle image's output text, per migration level and format, under the same
key plus this package's version: a bundle rendered before is then neither decoded nor re-encoded.
That text is looked up as soon as the reference's manifest digest is known (the tag asked at the
source, as always), before the image's config is read: the digest pins the config, and so the
labels that made it a bundle image.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from imgextract.cache.writer import unique_suffix, write_parts
from imgextract.catalog.render import FORMATS
from imgextract.catalog.render.migrate import MigrationError, check_level, migrate_bundle
from imgextract.catalog.render.spill import Spill
from imgextract.cpupin import call_free, current_cpu, pin_thread, process_cpus

if TYPE_CHECKING:  # built on a miss only: a bundle's kept text answers without them
    from imgextract.catalog.render.rendered import RenderedBundle

__all__ = [
    "ImageSource",
    "RenderError",
    "RenderOptions",
    "render_refs",
    "render_refs_chunks",
    "render_refs_output",
]

log = logging.getLogger(__name__)

PACKAGE_LABEL = "operators.operatorframework.io.bundle.package.v1"
CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
SQLITE_LABEL = "operators.operatorframework.io.index.database.v1"
CACHE_FORMAT = "render-v5"  # v5: -0.0 and go-yaml escapes as opm; v4: values kept verbatim; v3: Go's relatedImages order, typed CSV decoding
OUTPUT_FORMAT = "render-output-v1"

FBCReader = Callable[[Path], Iterable[tuple[str, int, dict[str, Any]]]]


def _q(s: str) -> str:
    """Go's %q for the references in opm's messages."""
    return json.dumps(s, ensure_ascii=False)


class RenderError(ValueError):
    """A reference opm would refuse to render; ``kind`` says why (usage, bundle, fbc, image)."""

    def __init__(self, message: str, kind: str = "bundle") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RenderOptions:
    """What ``render`` does besides reading: ``migrate_level`` (none | bundle-object-to-csv-metadata | all),
    ``image_ref_template`` for bundle directories, ``jobs`` references at a time (default 16),
    ``pin_cpu``: the workers share one CPU (see :mod:`imgextract.cpupin`)."""

    migrate_level: str = "none"
    image_ref_template: str | None = None
    jobs: int = 16
    pin_cpu: bool = True


class ResolvedLike(Protocol):
    manifest_digest: str

    @property
    def labels(self) -> dict[str, str]: ...


class ImageSource(Protocol):
    """How the renderer gets images: the pull machinery behind a small interface."""

    cache_root: Path | None

    def resolve(self, ref: str) -> Any:
        """The resolved image (its ``manifest_digest`` and ``config.labels`` are read)."""

    def locate(self, ref: str) -> tuple[str | None, Callable[[], Any]]:
        """The first step of ``resolve``: the image manifest's digest when it is known that early
        and may answer alone (else None), and the call that resolves the rest."""

    def read_tree(self, image: Any, paths: tuple[str, ...]) -> Any:
        """The files of ``paths`` in memory (``files``: path -> bytes, ``dirs``: directory paths),
        when the image's layers make that possible without the applier; else None."""

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        """Apply the image's layers into ``dest``, only ``paths``."""

    # A source may also have ``load_ahead()``: import what resolving and reading an image take
    # (called on a thread of its own, see :class:`_LoadAhead`).


# ---------------------------------------------------------------------------------------- cache


# The kept files' paths are plain strings (the system calls take them as they are): building a
# ``Path`` costs more than the file's key, and a cold render names four of them per image.


def _cache_path(root: Path, digest: str, ref: str) -> str:
    key = hashlib.sha256(f"{CACHE_FORMAT}\0{digest}\0{ref}".encode()).hexdigest()
    return f"{root}/render/{key}.json"


def _cache_get(root: Path | None, digest: str, ref: str) -> RenderedBundle | None:
    """A kept rendering: a JSON head line (names, types, byte sizes), then the property values
    and the CSV JSON verbatim (UTF-8), back to back; anything that does not read back whole is a
    miss."""
    if root is None:
        return None
    from imgextract.catalog.render.rendered import Property, RenderedBundle

    try:
        data = _read_kept(_cache_path(root, digest, ref))
        end = data.index(b"\n")
        head = json.loads(data[:end])
        types, sizes, related = head["types"], head["sizes"], head["relatedImages"]
        fields = (head["name"], head["package"], head["image"])
        body = memoryview(data)[end + 1 :]
        if (  # each field of the shape the writer gives it (a string's characters are no list)
            not (types.__class__ is sizes.__class__ is related.__class__ is list)
            or not all(isinstance(x, str) for x in (*fields, *types))
            or not all(
                r.__class__ is list and len(r) == 2 and all(isinstance(x, str) for x in r) for r in related
            )
            or not all(x.__class__ is int and x >= 0 for x in sizes)
            or len(sizes) != len(types) + 1
            or sum(sizes) != len(body)
        ):
            return None
        texts = []
        at = 0
        for size in sizes:
            texts.append(str(body[at : at + size], "utf-8", "surrogatepass"))
            at += size
        csv_json = texts.pop()
        return RenderedBundle(
            *fields,
            [Property(t, v) for t, v in zip(types, texts, strict=True)],
            [(n, i) for n, i in related],
            csv_json,
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _cache_put(root: Path | None, digest: str, ref: str, b: RenderedBundle) -> None:
    if root is None:
        return
    path = _cache_path(root, digest, ref)
    # the values (a bundle object's base64 is most of a bundle) go as they are: no JSON escaping
    # of a hundred kilobytes on the way in, no unescaping on the way out
    texts = [p.value.encode("utf-8", "surrogatepass") for p in b.properties]
    texts.append(b.csv_json.encode("utf-8", "surrogatepass"))
    head = {
        "name": b.name,
        "package": b.package,
        "image": b.image,
        "relatedImages": [list(r) for r in b.related_images],
        "types": [p.type for p in b.properties],
        "sizes": [len(t) for t in texts],
    }
    line = json.dumps(head, separators=(",", ":")).encode("utf-8")
    _keep(path, [line, b"\n", *texts], "render cache")


_KEEP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _keep(path: str, parts: Sequence[bytes | memoryview], what: str) -> None:
    """Write ``parts``, one after another, to ``path`` atomically (a ``.tmp-`` file beside it,
    which the cache's sweep knows, renamed over it); a failure is only logged: the cache only ever
    saves work.  Plain system calls (open, writev, close, rename): the directory is made only when
    it is missing, no buffered file object is built (a worker hands the GIL over at every call)
    and the parts (a hundred kilobytes) are not copied into one buffer first."""
    parent = os.path.dirname(path)
    tmp = f"{parent}/.tmp-{unique_suffix()}"
    created = False
    try:
        try:
            fd = os.open(tmp, _KEEP_FLAGS, 0o600)
        except FileNotFoundError:
            os.makedirs(parent, mode=0o700, exist_ok=True)
            fd = os.open(tmp, _KEEP_FLAGS, 0o600)
        created = True
        try:
            write_parts(fd, parts)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("%s not written: %s", what, exc)
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class Output:
    """One object's text in an output format (UTF-8, surrogates escaped as the command writes them),
    with what opm's order needs of the object (its ``schema``, ``name`` and ``package``)."""

    __slots__ = ("data", "head", "place")

    def __init__(self, head: dict[str, str], data: bytes | memoryview) -> None:
        self.head = head
        self.data = data
        self.place: tuple[int, int] | None = None  # (offset, length) in a Spill, data then empty

    @classmethod
    def of(cls, obj: dict[str, Any], fmt: str) -> Output:
        from imgextract.catalog.render.writer import encode  # (loaded ahead: see _load_ahead)

        head = {k: obj[k] for k in ("schema", "name", "package") if isinstance(obj.get(k), str)}
        return cls(head, encode(obj, fmt).encode("utf-8", "surrogateescape"))


def _park(spill: Spill, out: Output) -> Output:
    out.place = spill.put(out.data)
    out.data = b""
    return out


def _text(spill: Spill, out: Output) -> bytes | memoryview:
    return out.data if out.place is None else spill.get(out.place)


def _output_path(root: Path, digest: str, ref: str, level: str, fmt: str) -> str:
    from imgextract._version import VERSION  # the writer's rules may change with the version

    # the text is made from the rendering: a new rendering format makes new texts too
    fields = (OUTPUT_FORMAT, CACHE_FORMAT, VERSION, digest, ref, level, fmt)
    key = hashlib.sha256("\0".join(fields).encode()).hexdigest()
    return f"{root}/render/{key}.out.{fmt}"


_KEPT_MAX_BYTES = 1 << 30  # no rendering or output is this large (a catalog object is at most 256 MiB)


def _read_kept(path: str) -> bytes:
    """A kept file's bytes in one read (no buffered file object: workers hand the GIL over at
    every system call); anything but a regular file (a FIFO would block), or one larger than
    ``_KEPT_MAX_BYTES`` (read whole, it could exhaust memory), is ``OSError``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: not a regular file")
        if st.st_size > _KEPT_MAX_BYTES:
            raise OSError(f"{path}: larger than any kept file")
        return os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)


def _output_get(path: str) -> Output | None:
    """A kept output: a JSON head line (the object's order fields and the text's size), the text."""
    try:
        data = _read_kept(path)
        end = data.index(b"\n")
        head = json.loads(data[:end])
        size = head.pop("size")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    text = memoryview(data)[end + 1 :]
    if size != len(text) or not all(isinstance(v, str) for v in head.values()):
        return None
    return Output(head, text)


def _output_put(path: str, out: Output) -> None:
    head = json.dumps({**out.head, "size": len(out.data)}, separators=(",", ":")).encode()
    _keep(path, [head, b"\n", out.data], "render output")


# ---------------------------------------------------------------------------------------- migrations


def _fbc_bundle_migrate(obj: dict[str, Any], level: str, csv_json: str) -> dict[str, Any]:
    """The migration on a bundle loaded from FBC: its CSV came from its olm.bundle.object data."""
    from imgextract.catalog.render.rendered import Property, RenderedBundle

    props = [Property(p["type"], str(p["value"])) for p in obj.get("properties", [])]
    b = RenderedBundle(obj.get("name", ""), obj.get("package", ""), obj.get("image", ""), props, [], csv_json)
    migrate_bundle(b, level)
    out = dict(obj)
    if b.properties:
        out["properties"] = [p.to_fbc() for p in b.properties]
    return out


# ---------------------------------------------------------------------------------------- one reference


def _is_bundle_dir(path: Path) -> bool:
    """``isBundle``: ``manifests`` and ``metadata`` entries that are directories themselves (an
    ``os.ReadDir`` entry: a symbolic link to a directory is not one)."""
    try:
        with os.scandir(path) as it:
            dirs = {
                e.name for e in it if e.name in ("manifests", "metadata") and e.is_dir(follow_symlinks=False)
            }
    except OSError:
        return False
    return len(dirs) == 2


def _fbc_reader(root: Path) -> Iterable[tuple[str, int, dict[str, Any]]]:
    from imgextract.catalog.render.fbc import iter_fbc_dir  # catalogs only: bundles need none of it

    return iter_fbc_dir(root)


def _fbc_objects(
    root: Path, reader: FBCReader, level: str, fmt: str | None = None, spill: Spill | None = None
) -> list[dict[str, Any] | Output]:
    """The catalog's objects; with ``fmt`` each one encoded as it is read (and, with ``spill``,
    parked on disk), so a big catalog is never held whole."""
    from imgextract.catalog.render.fbc import FBCError, bundle_csv_json, normalize, run_order

    out: list[dict[str, Any] | Output] = []
    try:
        for _file, _idx, obj in reader(root):
            n = normalize(obj)
            if n.get("schema") == "olm.bundle" and "__raw__" not in n:
                csv_json = bundle_csv_json(n)  # LoadFS reads every bundle object, at any level
                n = run_order(n)  # Render.Run, for every reference: bundle objects last, relatedImages
                if level != "none":
                    n = _fbc_bundle_migrate(n, level, csv_json)
            if fmt is None:
                out.append(n)
            else:
                o = Output.of(n, fmt)
                out.append(o if spill is None else _park(spill, o))
    except (FBCError, OSError) as exc:
        raise RenderError(str(exc), "fbc") from exc
    return out


def _render_one(
    ref: str,
    source: ImageSource | None,
    opts: RenderOptions,
    reader: FBCReader,
    fmt: str | None = None,
    spill: Spill | None = None,
    reading: Callable[[], None] | None = None,
) -> Sequence[dict[str, Any] | Output]:
    """The reference's objects; with ``fmt``, a bundle image's object comes as its :class:`Output`
    (kept in the cache, re-used when the same digest is rendered again).  ``reading`` is called
    when the image itself is to be read (no kept text answered)."""
    level = opts.migrate_level
    path = Path(ref)
    if os.path.exists(ref):
        if not path.is_dir():
            raise RenderError(f"ref {_q(ref)} is not a directory", "usage")
        if _is_bundle_dir(path):
            from imgextract.catalog.render.bundle import render_bundle  # YAML: only to read a bundle
            from imgextract.catalog.render.rendered import TemplateError

            try:
                b = render_bundle(path, image="", image_template=opts.image_ref_template)
            except TemplateError as exc:  # renderBundleDirectory's wrapping
                raise RenderError(
                    f"failed templating image reference from bundle for {_q(ref)}: {exc}", "bundle"
                ) from exc
            return [migrate_bundle(b, level).to_fbc()]
        return _fbc_objects(path, reader, level, fmt, spill)
    if source is None:
        raise RenderError(f"{_q(ref)} is not a directory and no registry access was given", "usage")
    digest, resolve = source.locate(ref)
    kept = None
    if fmt is not None and source.cache_root is not None and digest is not None:
        # rendered before at this digest: the text alone answers (it was kept only for a bundle
        # image, whose config the digest pins), with no config read and no manifest parsed
        kept = _output_path(source.cache_root, digest, ref, level, fmt)
        hit = _output_get(kept)
        if hit is not None:
            return [hit]
    if reading is not None:
        reading()
    image = resolve()
    labels = dict(image.config.labels or {})
    if SQLITE_LABEL in labels and CONFIGS_LABEL not in labels:  # the configs label decides first
        raise RenderError(f"render {_q(ref)}: sqlite-based index images are no longer supported", "image")
    if CONFIGS_LABEL in labels:
        configs = labels[CONFIGS_LABEL].strip("/") or "."
        import tempfile

        with tempfile.TemporaryDirectory(prefix="render-unpack-") as tmp:
            # layers applied to disk: their inflate and download threads use every CPU
            call_free(process_cpus(), source.extract, image, (configs,), Path(tmp))
            return _fbc_objects(Path(tmp) / configs, reader, level, fmt, spill)
    if PACKAGE_LABEL in labels:
        manifest_digest: str = image.manifest_digest
        if fmt is not None and source.cache_root is not None and digest != manifest_digest:
            # an index (its platform's manifest is known now), or a policy that judged the image first
            kept = _output_path(source.cache_root, manifest_digest, ref, level, fmt)
            hit = _output_get(kept)
            if hit is not None:
                return [hit]
        digest = manifest_digest
        cached = _cache_get(source.cache_root, digest, ref)
        tree = source.read_tree(image, ("manifests", "metadata")) if cached is None else None
        if tree is not None:  # small plain layers: no staging directory
            from imgextract.catalog.render.bundle import render_listed
            from imgextract.catalog.render.bundlefiles import memory_listing

            cached = render_listed(memory_listing(tree.files, tree.dirs), image=ref)
            _cache_put(source.cache_root, digest, ref, cached)
        if cached is None:
            import shutil
            import tempfile

            tmp = tempfile.mkdtemp(prefix="render-unpack-")
            try:
                call_free(process_cpus(), source.extract, image, ("manifests", "metadata"), Path(tmp))
                from imgextract.catalog.render.bundle import render_bundle

                cached = render_bundle(Path(tmp), image=ref)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            _cache_put(source.cache_root, digest, ref, cached)
        obj = migrate_bundle(cached, level).to_fbc()
        if fmt is None:
            return [obj]
        out = Output.of(obj, fmt)
        if kept is not None:
            _output_put(kept, out)
        return [out]
    if labels:
        listed = "\n".join(f"  {k}={labels[k]}" for k in sorted(labels))
        raise RenderError(
            f"render {_q(ref)}: image type could not be determined, found labels\n{listed}", "image"
        )
    raise RenderError(f"render {_q(ref)}: image type could not be determined: image has no labels", "image")


class _LoadAhead:
    """Imports what reading an image and rendering a bundle take (~60 modules, ~110 M
    instructions: see :func:`_load_ahead`) on a thread of its own as soon as the first reference
    is to read its image (no kept text answered it), while the workers wait for the registry's
    answers.  Left to the workers, each module was loaded by the first worker to need it, after a
    response, while the workers needing it next waited on its import lock with no request out.
    A run that kept texts answer whole (a warm run) imports none of it.

    The thread is started with the pool and waits for its cue: a worker only sets an event (and
    goes on to send its next request) where starting a thread would make it wait for the new
    one.  Not the main thread: an interrupt lands there, and one landing inside the import
    machinery could leave a module's import lock held for the workers."""

    def __init__(self, source: ImageSource, cpu: int | None = None) -> None:
        self._source = source
        self._cpu = cpu  # the workers' CPU, when they are kept on one
        self._cue = threading.Event()
        self._needed = False
        self._finished = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="render-load-ahead", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to be had: the workers load what they need
            log.debug("loading the image reader ahead: %s", exc)
            return
        self._thread = thread

    def reading(self) -> None:
        """A reference is to read its image (called by the workers)."""
        if not self._needed:
            self._needed = True
            self._cue.set()

    def finish(self) -> None:
        """Every reference is done (or one failed): nothing more to load for.  A load under way is
        waited for: the caller goes on to write and exit, and an import left half done on this
        thread is a module the exit path would find half initialized."""
        self._finished = True
        self._cue.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        self._cue.wait()
        if not self._needed or self._finished:
            return
        if self._cpu is not None:  # it takes turns with the workers for the GIL
            pin_thread(self._cpu)
        try:
            _load_ahead(self._source)
        except Exception as exc:  # only a head start: a worker importing the module meets it again
            log.debug("loading the image reader ahead failed: %s", exc)


def _load_ahead(source: ImageSource) -> None:
    """Import the modules of an image's reading (the source's, when it names them), then those of
    a bundle's rendering and output, in the order the workers need them."""
    load = getattr(source, "load_ahead", None)
    if load is not None:
        load()
    from imgextract.catalog.render import bundle, olmtypes, rendered, writer  # noqa: F401

    with contextlib.suppress(ImportError):  # gojson's encoder when installed
        import orjson  # noqa: F401


# compiled when a template is given (``re`` keeps it): ~0.8 M instructions of every render's start-up
_TEMPLATE_ACTION = r"\{\{(- )?\s*\.(\w+)\s*?( -)?\}\}"


def _check_image_template(template: str | None) -> None:
    """cmd/opm/render parses ``--image-ref-template`` (``template.New("image-ref-template")``) before
    rendering anything and fails with "invalid image reference template: %v"; of text/template's parse
    errors the one told here is an action left open at the end ("unclosed action"), after supported
    actions only; other templates are left to :func:`~.bundle.expand_template`."""
    if template is None:
        return
    action = re.compile(_TEMPLATE_ACTION)
    pos = 0
    while (start := template.find("{{", pos)) >= 0:
        m = action.match(template, start)
        if m is None:
            rest = template[start + 2 :]
            if "}}" not in rest and "\n" not in rest and re.fullmatch(r"(- )?[ \t\r]*(\.\w+)?[ \t\r]*", rest):
                line = template.count("\n", 0, start) + 1
                raise RenderError(
                    f"invalid image reference template: template: image-ref-template:{line}: unclosed action",
                    "usage",
                )
            return
        pos = m.end()


def _render_all(
    refs: Iterable[str],
    source: ImageSource | None,
    options: RenderOptions | None,
    fbc_reader: FBCReader | None,
    fmt: str | None,
    spill: Spill | None = None,
) -> list[dict[str, Any] | Output]:
    opts = options or RenderOptions()
    try:
        check_level(opts.migrate_level)
    except MigrationError as exc:
        raise RenderError(str(exc), "usage") from exc
    _check_image_template(opts.image_ref_template)
    refs = list(refs)
    reader = fbc_reader or _fbc_reader

    jobs = max(1, min(opts.jobs, len(refs) or 1))
    cpu = current_cpu() if jobs > 1 and opts.pin_cpu else None
    if cpu is not None:
        log.debug("render workers kept on CPU %d", cpu)
    ahead = _LoadAhead(source, cpu) if jobs > 1 and source is not None else None

    def rendered(ref: str) -> Sequence[dict[str, Any] | Output]:
        try:
            return _render_one(
                ref, source, opts, reader, fmt, spill, None if ahead is None else ahead.reading
            )
        except RenderError as exc:
            raise RenderError(f"render reference {_q(ref)}: {exc}", exc.kind) from exc
        except MigrationError as exc:  # Render.Run: "migrate: ...", not prefixed with the reference
            raise RenderError(str(exc), "bundle") from exc
        except RecursionError as exc:
            raise RenderError(f"render reference {_q(ref)}: document nested too deeply", "bundle") from exc
        # a bundle opm refuses (BundleError), a migration that fails (MigrationError: both are
        # ValueErrors), a value Go's encoder refuses (NaN)
        except (ValueError, UnicodeError) as exc:
            raise RenderError(f"render reference {_q(ref)}: {exc}", "bundle") from exc
        except OSError as exc:
            raise RenderError(
                f"render reference {_q(ref)}: {exc.strerror or exc}: {exc.filename}", "io"
            ) from exc

    def one(ref: str) -> list[dict[str, Any] | Output]:
        items = rendered(ref)
        if fmt is None:
            return list(items)
        # encoded here, in the worker, while other references wait for the network
        return [o if isinstance(o, Output) else Output.of(o, fmt) for o in items]

    if jobs == 1:
        results = [one(r) for r in refs]
    else:
        with ThreadPoolExecutor(
            max_workers=jobs,
            thread_name_prefix="render",
            initializer=None if cpu is None else functools.partial(pin_thread, cpu),
        ) as pool:
            futures = [pool.submit(one, r) for r in refs]
            if ahead is not None:
                ahead.start()  # (after the submissions: the references are under way first)
            results = []
            try:
                for f in futures:
                    try:
                        results.append(f.result())
                    except BaseException:
                        for g in futures:
                            g.cancel()
                        raise
            finally:
                if ahead is not None:
                    ahead.finish()
    return [obj for objs in results for obj in objs]


def render_refs(
    refs: Iterable[str],
    source: ImageSource | None = None,
    options: RenderOptions | None = None,
    *,
    fbc_reader: FBCReader | None = None,
) -> list[dict[str, Any]]:
    """Render every reference (concurrently, at most ``options.jobs`` at a time) into FBC objects in
    opm's shape (property values as :class:`~.gojson.RawJSON`); the first failing reference's error is raised,
    prefixed as opm does (``render reference "REF": ...``)."""
    objs = _render_all(refs, source, options, fbc_reader, None)
    return [o for o in objs if isinstance(o, dict)]  # without a format every item is an object


def render_refs_output(
    refs: Iterable[str],
    fmt: str,
    source: ImageSource | None = None,
    options: RenderOptions | None = None,
    *,
    fbc_reader: FBCReader | None = None,
) -> bytes:
    """What :func:`render_refs` and :func:`~.writer.write` in ``fmt`` give, as UTF-8 bytes (surrogates
    escaped): each object is encoded by the worker that rendered it, and a bundle image rendered
    before at the same digest comes as its kept text, neither decoded nor re-encoded."""
    return b"".join(render_refs_chunks(refs, fmt, source, options, fbc_reader=fbc_reader))


def render_refs_chunks(
    refs: Iterable[str],
    fmt: str,
    source: ImageSource | None = None,
    options: RenderOptions | None = None,
    *,
    fbc_reader: FBCReader | None = None,
) -> Iterator[bytes | memoryview]:
    """:func:`render_refs_output` in pieces (one per object, in order), for a writer that takes
    them as they are: no copy of the whole output into one buffer.  Every reference renders
    before this returns; a catalog's objects then come back from a temporary file one by one."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})", "usage")
    spill = Spill()
    try:
        items = _render_all(refs, source, options, fbc_reader, fmt, spill)
    except BaseException:
        spill.close()
        raise
    from imgextract.catalog.render.writer import opm_sorted, order_key

    outs = [o for o in items if isinstance(o, Output)]  # with a format, the workers encoded every item
    return _read_back(opm_sorted(outs, key=lambda o: order_key(o.head)), spill)


def _read_back(outs: list[Output], spill: Spill) -> Iterator[bytes | memoryview]:
    try:
        for o in outs:
            yield _text(spill, o)
    finally:
        spill.close()

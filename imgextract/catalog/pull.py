"""Pull every selected bundle of a catalog into ``OUT/<package>/<bundle name>/``, in one process.

One session for the whole run (an :class:`imgextract.Client`: one connection pool per registry, one
content cache, credentials and mirror rules read once). ``jobs`` bundles are pulled at a time, and
at most ``per_registry`` of them from any one registry (each bundle's own layer prefetch is bounded
too, to 3 layers).

Each bundle is atomic: it is built in a staging directory beside its destination and renamed into
place, then a completion marker ``OUT/<package>/.<bundle name>.done`` (JSON: image, digest, files,
bytes) is written atomically. A rerun skips a bundle whose directory and marker exist and whose
marker names the same image; a directory without a marker (a run killed between the rename and
the marker) is pulled again and replaced; staging directories a killed run left are removed by the
pull that follows in the same directory (only those whose owner process on this host is gone, or,
of another host sharing the volume, that nothing changed for a day: see :mod:`imgextract.procowner`).

A failing bundle is reported in its outcome and the others go on;
``CatalogPullResult.raise_for_failures()`` raises the first failure (in catalog order).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from imgextract.catalog.model import Bundle
from imgextract.cpupin import call_free, current_cpu, pin_thread
from imgextract.errors import ImgExtractError, InvalidBundleError, UsageError, local_filesystem_error, option
from imgextract.outputs.directory import atomic_write

if TYPE_CHECKING:
    from imgextract.operations import Session
    from imgextract.results import PullResult

log = logging.getLogger(__name__)

MARKER_SUFFIX = ".done"


@dataclass(frozen=True)
class BundleOutcome:
    """What happened to one bundle: pulled (``result``), skipped as complete, or failed (``error``)."""

    bundle: Bundle
    output: Path
    result: PullResult | None = None
    skipped: bool = False
    error: ImgExtractError | None = None

    @property
    def ok(self) -> bool:
        """True unless the bundle failed (pulled, or skipped as complete)."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The pull result plus ``package``, ``bundle``, ``digest``, ``skipped``; for a failure
        ``{"reference", "package", "bundle", "error": {"type", "message"}}``."""
        head = {"package": self.bundle.package, "bundle": self.bundle.name}
        if self.error is not None:
            return {
                "reference": self.bundle.image,
                **head,
                "error": {"type": type(self.error).__name__, "message": str(self.error)},
            }
        if self.result is not None:
            return {**self.result.to_json(), **head, "digest": self.result.digest, "skipped": False}
        marker = read_marker(self.output)
        return {
            "reference": self.bundle.image,
            **head,
            "digest": (marker or {}).get("digest"),
            "output": str(self.output),
            "skipped": True,
        }


@dataclass(frozen=True)
class CatalogPullResult:
    """Every bundle's outcome, in the order the bundles were given."""

    outcomes: tuple[BundleOutcome, ...]

    @property
    def pulled(self) -> int:
        """How many bundles were pulled by this run."""
        return sum(1 for o in self.outcomes if o.ok and not o.skipped)

    @property
    def skipped(self) -> int:
        """How many bundles were already complete and skipped."""
        return sum(1 for o in self.outcomes if o.skipped)

    @property
    def failed(self) -> int:
        """How many bundles failed (their outcomes carry the error)."""
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def first_failure(self) -> BundleOutcome | None:
        """The first failing bundle's outcome, in the order the bundles were given; None when none failed."""
        return next((o for o in self.outcomes if not o.ok), None)

    def raise_for_failures(self) -> None:
        """Raise the first failing bundle's error, if any bundle failed."""
        first = self.first_failure
        if first is not None and first.error is not None:
            raise first.error

    def to_json(self) -> dict[str, Any]:
        """``{pulled, skipped, failed, bundles}``, each bundle as :meth:`BundleOutcome.to_json`."""
        return {
            "pulled": self.pulled,
            "skipped": self.skipped,
            "failed": self.failed,
            "bundles": [o.to_json() for o in self.outcomes],
        }


def check_pacing(jobs: int, per_registry: int | None) -> None:
    """``jobs`` and ``max_per_registry`` are whole numbers from 1."""
    for name, value in (("jobs", jobs), ("max_per_registry", per_registry)):
        if value is None and name == "max_per_registry":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{option(name)} must be at least 1, got {value!r}")


def bundle_dir(output: Path, bundle: Bundle) -> Path:
    """``output/<package>/<bundle name>``; names that are not one plain path component are refused."""
    for what, name in (("package", bundle.package), ("bundle", bundle.name)):
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or "\\" in name
            or "\0" in name
            or name.startswith(".")
        ):
            raise InvalidBundleError(f"{what} name {name!r} cannot be a directory name")
    return output / bundle.package / bundle.name


def marker_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}{MARKER_SUFFIX}"


def read_marker(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(dest).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(dest: Path, bundle: Bundle) -> bool:
    marker = read_marker(dest)
    return (
        marker is not None and marker.get("image") == bundle.image and dest.is_dir() and not dest.is_symlink()
    )


class BundlePuller(Protocol):
    """Pulls one bundle image into ``dest`` (atomically; ``replace``: an incomplete ``dest`` exists)."""

    def __call__(self, bundle: Bundle, dest: Path, replace: bool) -> PullResult: ...


class _Gates:
    """At most ``limit`` bundles in flight per registry; and the package directories made so far
    (each is made once per run, not once per bundle)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Semaphore] = {}
        self._made: set[Path] = set()

    def make_parent(self, dest: Path) -> None:
        parent = dest.parent
        with self._lock:
            if parent in self._made:
                return
        parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._made.add(parent)

    def __call__(self, registry: str) -> threading.Semaphore:
        with self._lock:
            if registry not in self._gates:
                self._gates[registry] = threading.Semaphore(self.limit)
            return self._gates[registry]


def _pull_one(puller: BundlePuller, gates: _Gates, bundle: Bundle, dest: Path) -> PullResult:
    from imgextract.reference import parse_reference

    if not bundle.image:
        raise InvalidBundleError(f"bundle {bundle.name} has no image in the catalog")
    ref = parse_reference(bundle.image)
    with gates(ref.registry):
        gates.make_parent(dest)
        result = puller(bundle, dest, os.path.lexists(dest))
    marker = {"image": bundle.image, "digest": result.digest, "files": result.files, "bytes": result.bytes}
    atomic_write(marker_path(dest), (json.dumps(marker, sort_keys=True) + "\n").encode())
    return result


def pull_bundles(
    bundles: Sequence[Bundle],
    output: str | os.PathLike[str],
    *,
    client: Session | None = None,
    puller: BundlePuller | None = None,
    jobs: int = 4,
    per_registry: int | None = None,
    pin_cpu: bool = True,
    on_start: Callable[[Bundle], None] | None = None,
    on_done: Callable[[BundleOutcome], None] | None = None,
) -> CatalogPullResult:
    """Pull ``bundles`` under ``output`` (created if missing) over ``client`` (an
    :class:`imgextract.Client`), or with ``puller``; with ``jobs`` > 1 and several bundles the workers
    (and the threads they start) are kept on one CPU unless ``pin_cpu=False`` (:mod:`imgextract.cpupin`).
    Callbacks run in worker threads, on the caller's CPUs (what they start is not kept)."""
    check_pacing(jobs, per_registry)
    if puller is None:
        if client is None:
            raise UsageError("pull_bundles needs client= (an imgextract.Client) or puller=")
        from imgextract.catalog.session import pull_bundle

        session = client

        def puller(bundle: Bundle, dest: Path, replace: bool) -> PullResult:
            return pull_bundle(session, bundle, dest, replace)

    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} exists and is not a directory")
    if not Path(os.path.abspath(out)).parent.is_dir():
        raise UsageError(f"parent directory of {out} does not exist; create it first")
    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise local_filesystem_error(exc, doing="creating") from None
    gates = _Gates(per_registry or jobs)
    pull_with = puller
    # kept when bundles are pulled together (one alone is a single pull, which is not kept)
    cpu = current_cpu() if pin_cpu and min(jobs, len(bundles)) > 1 else None
    callers_cpus = os.sched_getaffinity(0) if cpu is not None else None  # the callbacks run there

    def one(bundle: Bundle) -> BundleOutcome:
        dest = out / bundle.package / bundle.name
        try:
            dest = bundle_dir(out, bundle)
            if is_complete(dest, bundle):
                outcome = BundleOutcome(bundle, dest, skipped=True)
            else:
                if on_start is not None:
                    call_free(callers_cpus, on_start, bundle)
                outcome = BundleOutcome(bundle, dest, result=_pull_one(pull_with, gates, bundle, dest))
        except ImgExtractError as exc:
            exc.reference = exc.reference or bundle.image
            outcome = BundleOutcome(bundle, dest, error=exc)
        except OSError as exc:
            err: ImgExtractError = local_filesystem_error(exc)
            err.reference = bundle.image
            outcome = BundleOutcome(bundle, dest, error=err)
        except Exception as exc:  # a bug must not take the other bundles down; reported as internal
            err = ImgExtractError(f"internal error: {type(exc).__name__}: {exc}", reference=bundle.image)
            outcome = BundleOutcome(bundle, dest, error=err)
        if on_done is not None:
            call_free(callers_cpus, on_done, outcome)
        return outcome

    if cpu is not None:
        log.debug("catalog pull workers kept on CPU %d", cpu)
    pool = ThreadPoolExecutor(
        max_workers=jobs,
        thread_name_prefix="catalog-pull",
        initializer=None if cpu is None else functools.partial(pin_thread, cpu),
    )
    try:
        futures = [pool.submit(one, b) for b in bundles]
        outcomes = tuple(f.result() for f in futures)
    except Exception:
        # an error of the caller's own (an on_done callback): start no further bundle and wait for
        # those in flight, so that nothing runs on after the call has returned
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:
        # Ctrl-C / SIGTERM: start no further bundle; those in flight finish into their staging
        # directories (removed by the next run) or complete atomically.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return CatalogPullResult(outcomes)

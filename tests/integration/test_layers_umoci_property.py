"""Property: for random layer stacks our applier and ``umoci unpack --rootless`` agree.

Either both refuse the image, or both produce the same tree (compared as in
test_layers_umoci.py, modulo the documented policy differences).  The generator avoids the
same-layer whiteout orders where umoci's result depends on entry order (see that module).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgextract.errors import IntegrityError
from tests.unit.layers.layerkit import (
    UMOCI,
    E,
    apply_tars,
    d,
    f,
    hard,
    normalize_umoci,
    opq,
    snapshot,
    sym,
    tar_bytes,
    umoci_unpack,
    wh,
)

pytestmark = pytest.mark.oracle

NAMES = ["a", "b", "c"]
PATHS = NAMES + [f"{x}/{y}" for x in NAMES for y in NAMES] + ["a/b/c", "b/a/a"]
TARGETS = ["a", "b", "c", "a/b", "/a", "/b/c", "..", "../a", "../../b", "/", ".", "b/../c", "nowhere"]

op = st.one_of(
    st.tuples(
        st.just("file"),
        st.sampled_from(PATHS),
        st.sampled_from(["1", "22", ""]),
        st.sampled_from([0o644, 0o755, 0o600]),
    ),
    st.tuples(st.just("dir"), st.sampled_from(PATHS), st.sampled_from([0o755, 0o700]), st.booleans()),
    st.tuples(st.just("sym"), st.sampled_from(PATHS), st.sampled_from(TARGETS)),
    st.tuples(st.just("link"), st.sampled_from(PATHS), st.sampled_from(PATHS)),
    st.tuples(st.just("wh"), st.sampled_from(PATHS)),
)


def _related(p: str, q: str) -> bool:
    return p == q or p.startswith(q + "/") or q.startswith(p + "/")


def build_layer(ops: list[tuple]) -> list[E]:
    """Distinct paths; a path may only be below another entry of the layer if that one is a dir;
    whiteouts unrelated to every other entry; opaque markers right after their dir entry."""
    chosen: dict[str, tuple] = {}
    for o in ops:
        path = o[1]
        if path in chosen:
            continue
        if o[0] == "wh" and any(_related(path, q) for q in chosen):
            continue
        if any(c[0] == "wh" and _related(path, q) for q, c in chosen.items()):
            continue
        if any(
            (q.startswith(path + "/") and o[0] != "dir") or (path.startswith(q + "/") and c[0] != "dir")
            for q, c in chosen.items()
        ):
            continue
        chosen[path] = o
    entries: list[E] = []
    for path in sorted(chosen, key=lambda p: (p.count("/"), p)):
        o = chosen[path]
        if o[0] == "file":
            entries.append(f(path, o[2], mode=o[3]))
        elif o[0] == "dir":
            entries.append(d(path, mode=o[2]))
            if o[3]:
                entries.append(opq(path))
        elif o[0] == "sym":
            entries.append(sym(path, o[2]))
        elif o[0] == "link":
            entries.append(hard(path, o[2]))
        else:
            entries.append(wh(path))
    return entries


stacks = st.lists(st.lists(op, min_size=1, max_size=8), min_size=1, max_size=4)


@pytest.fixture(autouse=True)
def _need_umoci() -> None:
    if UMOCI is None:
        if os.environ.get("CI") == "true":
            pytest.fail("umoci is required in CI (apt-get install umoci)")
        pytest.skip("umoci not installed")


@settings(
    max_examples=int(os.environ.get("LAYERS_UMOCI_EXAMPLES", "35")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(stacks)
def test_random_stacks_match_umoci(tmp_path: Path, stack: list[list[tuple]]) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    tars = [tar_bytes(build_layer(ops)) for ops in stack]
    ours = work / "ours"
    ours.mkdir()
    try:
        apply_tars(ours, tars)
        our_error = None
    except IntegrityError as e:
        our_error = e
    try:
        theirs = umoci_unpack(work, tars)
        their_error = None
    except subprocess.CalledProcessError as e:
        their_error = e.stderr.decode(errors="replace").strip().splitlines()[-1:]
    assert (our_error is None) == (their_error is None), f"ours: {our_error!r}; umoci: {their_error}"
    if our_error is None:
        expected = normalize_umoci(snapshot(theirs, mtimes=True))
        actual = snapshot(ours, mtimes=True)
        diff = [
            f"{k}: umoci={expected.get(k)} ours={actual.get(k)}"
            for k in sorted(expected.keys() | actual.keys())
            if expected.get(k) != actual.get(k)
        ]
        assert not diff, "\n".join(diff)

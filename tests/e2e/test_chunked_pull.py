"""zstd:chunked partial fetch end to end: images converted by skopeo (``--dest-compress-format
zstd:chunked``), served by a real docker-registry; bytes counted at the fault proxy in front of it.

Sizes are scaled down from a real catalog (20 MB of configs under 150 MB of other layers) to keep
CI fast; the ratio assertions keep their meaning: the other layers are ~15x the configs layer.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from regfix.chunked import (
    blob_path,
    convert,
    dual_compression_index,
    go_tar,
    handmade_layer,
    read_manifest,
    skopeo_push,
)
from regfix.oci import Dir, File, ImageSpec, Layer, Symlink, write_layout
from regfix.umoci import compare_trees, umoci_unpack

from imgextract.layers.chunked import parse_toc, toc_location
from tests.e2e.cli import Run

pytestmark = pytest.mark.registry

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def _noise(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


def _catalog_json(rng: random.Random, pkg: str, n: int) -> bytes:
    doc = {
        "schema": "olm.package",
        "name": pkg,
        "defaultChannel": "stable",
        "description": rng.randbytes(n).hex(),
    }
    return json.dumps(doc).encode() + b"\n"


@dataclass
class ChunkedImage:
    gzip_layout: Path
    zstd_layout: Path
    manifest: dict[str, Any]
    configs: dict[str, bytes]
    ref: str
    host: str

    def layer_blob(self, i: int) -> bytes:
        return blob_path(self.zstd_layout, self.manifest["layers"][i]["digest"]).read_bytes()

    def toc(self, i: int) -> Any:
        desc = self.manifest["layers"][i]
        loc = toc_location(desc["annotations"])
        assert loc is not None
        return parse_toc(self.layer_blob(i)[loc.offset : loc.offset + loc.length], loc)


def _build(
    tmp: Path, registry: Any, repo: str, layers: list[list[Any]], labels: dict[str, str]
) -> ChunkedImage:
    gz = tmp / "gzip"
    write_layout(
        gz, ImageSpec(layers=[Layer(tar=go_tar(entries)) for entries in layers], labels=labels), "v1"
    )
    zs = tmp / "zstd"
    manifest = convert(gz, "v1", zs)
    skopeo_push(zs, "v1", registry.host, repo, "v1")
    configs = {
        e.info.name: e.data
        for entries in layers
        for e in entries
        if e.info.name.startswith("configs/") and e.data
    }
    return ChunkedImage(gz, zs, manifest, configs, f"{repo}:v1", registry.host)


@pytest.fixture(scope="module")
def catalog(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> ChunkedImage:
    """Three base layers of ~2.5 MB (incompressible) under a ~0.6 MB (compressed) configs layer."""
    rng = random.Random(15)
    base = [
        [
            Dir("usr"),
            Dir(f"usr/lib{i}"),
            *[File(f"usr/lib{i}/mod{j}.so", _noise(rng, 250_000)) for j in range(10)],
        ]
        for i in range(3)
    ]
    configs: list[Any] = [Dir("configs")]
    for k in range(40):
        configs += [
            Dir(f"configs/pkg{k:02}"),
            File(f"configs/pkg{k:02}/catalog.json", _catalog_json(rng, f"pkg{k:02}", 12_000)),
        ]
    return _build(
        tmp_path_factory.mktemp("catalog"),
        registry,
        "chunked/catalog",
        [*base, configs],
        {CONFIGS_LABEL: "/configs"},
    )


@pytest.fixture(scope="module")
def single(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> ChunkedImage:
    """One layer with everything: a small configs tree beside 6 MB of other files, links included."""
    rng = random.Random(16)
    entries: list[Any] = [Dir("opt"), *[File(f"opt/blob{j}.bin", _noise(rng, 500_000)) for j in range(12)]]
    entries += [Dir("configs")]
    for k in range(5):
        entries += [
            Dir(f"configs/p{k}"),
            File(f"configs/p{k}/catalog.json", _catalog_json(rng, f"p{k}", 3000)),
        ]
    entries += [Symlink("configs/latest", "p4"), File("etc/motd", "hello\n")]
    return _build(
        tmp_path_factory.mktemp("single"), registry, "chunked/single", [entries], {CONFIGS_LABEL: "/configs"}
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def _pull(cli: Callable[..., Run], host: str, ref: str, out: Path, *args: str) -> Run:
    return cli(
        "pull", f"{host}/{ref}", "-o", str(out), "--insecure-registry", host, "--no-cache", "--json", *args
    )


def test_catalog_configs_fetch_little_more_than_the_configs_layer(
    cli: Callable[..., Run], catalog: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    proxy = fault_proxy(catalog.host)
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, catalog.ref, out)
    assert r.code == 0, r.stderr
    assert _files(out) == catalog.configs
    configs_size = catalog.manifest["layers"][-1]["size"]
    total = sum(la["size"] for la in catalog.manifest["layers"])
    assert total > 7 * configs_size  # the scaled image keeps the catalog's proportions
    print(f"catalog: fetched {proxy.blob_bytes_sent} of {total} bytes; configs layer {configs_size}")
    assert proxy.blob_bytes_sent <= 1.3 * configs_size + 1024 * 1024
    layers = r.json()["layers"]
    assert [la["fetch"] for la in layers] == ["partial"] * 4
    assert all(la["bytesFetched"] < 64 * 1024 for la in layers[:3])  # base layers: their TOC only
    assert sum(la["bytesFetched"] for la in layers) <= proxy.blob_bytes_sent
    # requests: one Range request per layer for its TOC (and footer), one for the configs' chunks
    ranged = Counter(
        q.path.rsplit("/", 1)[1] for q in proxy.requests if "/blobs/" in q.path and "Range" in q.headers
    )
    digests = [la["digest"] for la in catalog.manifest["layers"]]
    assert ranged == {**dict.fromkeys(digests[:3], 1), digests[3]: 2}, ranged


def test_one_package_fetches_only_its_chunks(
    cli: Callable[..., Run], catalog: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    proxy = fault_proxy(catalog.host)
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, catalog.ref, out, "--path", "configs/pkg07")
    assert r.code == 0, r.stderr
    assert _files(out) == {"configs/pkg07/catalog.json": catalog.configs["configs/pkg07/catalog.json"]}
    toc = catalog.toc(3)
    mine = sum(c.end - c.start for e in toc.entries if e.name.startswith("configs/pkg07/") for c in e.chunks)
    layer = r.json()["layers"][3]
    assert layer["fetch"] == "partial"
    overhead = toc.location.length + 48 + 1024  # the TOC, the footer, HTTP part headers
    assert mine <= layer["bytesFetched"] <= mine + overhead


def test_a_partial_pull_loads_no_whole_layer_machinery(
    cli: Callable[..., Run], catalog: ChunkedImage, tmp_path: Path
) -> None:
    """Only ranges of zstd:chunked layers: the whole-blob pipeline and stream decompression
    (gzip via ISA-L) are not even imported (start-up is part of every pull's time)."""
    from tests.e2e.test_startup import imported_modules

    r = cli(
        "pull",
        f"{catalog.host}/{catalog.ref}",
        "-o",
        str(tmp_path / "out"),
        "--insecure-registry",
        catalog.host,
        "-q",
        "--cache-dir",
        str(tmp_path / "cache"),
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert r.code == 0, r.stderr[-2000:]
    loaded = imported_modules(r.stderr)
    assert "imgextract.layers.chunked" in loaded  # the log is read
    assert not {"imgextract.layers.pipeline", "imgextract.layers.decompress", "isal"} & loaded
    # nor the tar parser and the prefetcher (no layer is read as a tar stream, none fetched whole)
    tar = {"imgextract.layers.tarstream", "imgextract.layers.tarheader", "imgextract.layers.tarpax"}
    assert not {*tar, "imgextract.layers.tarruns", "imgextract.pull.prefetch", "tempfile"} & loaded
    # TOC entries are not tarfile members; trees are removed only on failure or replacement
    assert not {"tarfile", "shutil", "bz2", "lzma", "pwd", "grp"} & loaded
    assert _files(tmp_path / "out") == catalog.configs


def test_single_layer_small_selection(
    cli: Callable[..., Run], single: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    proxy = fault_proxy(single.host)
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, single.ref, out)
    assert r.code == 0, r.stderr
    assert _files(out) == single.configs
    assert (out / "configs" / "latest").readlink() == Path("p4")
    print(f"single: fetched {proxy.blob_bytes_sent} of {single.manifest['layers'][0]['size']} bytes")
    assert proxy.blob_bytes_sent <= 0.25 * single.manifest["layers"][0]["size"]


@pytest.mark.parametrize("where", ["registry", "redirect-target"])
def test_ignoring_range_gives_the_same_output_through_the_whole_layer(
    cli: Callable[..., Run], single: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path, where: str
) -> None:
    proxy = fault_proxy(single.host)
    proxy.plan.ignore_range = True  # the registry answers 200 with the whole blob ...
    proxy.plan.redirect_blobs = where == "redirect-target"  # ... or redirects to a host that does
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, single.ref, out)
    assert r.code == 0, r.stderr
    assert _files(out) == single.configs
    (layer,) = r.json()["layers"]
    assert layer["fetch"] == "whole"
    assert layer["bytesFetched"] == single.manifest["layers"][0]["size"]
    if where == "redirect-target":
        layer_digest = single.manifest["layers"][0]["digest"]
        seen = [h for h in proxy.redirect_requests if layer_digest in h[":path"]]
        assert len(seen) == 1 and "Range" in seen[0] and "Authorization" not in seen[0]


def test_all_equals_umoci_unpack_of_the_gzip_twin(
    cli: Callable[..., Run], single: ChunkedImage, registry: Any, need_umoci: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = _pull(cli, registry.host, single.ref, out, "--all")
    assert r.code == 0, r.stderr
    layers = r.json()["layers"]
    assert [la["fetch"] for la in layers] == ["whole"]  # only a whole layer verifies the diff_id
    assert layers[0]["bytesFetched"] == single.manifest["layers"][0]["size"]
    rootfs = umoci_unpack(single.gzip_layout, "v1", tmp_path / "bundle")
    assert compare_trees(rootfs, out, exec_bit=True) == ""


def test_cached_chunks_are_not_fetched_again(
    cli: Callable[..., Run], catalog: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    proxy = fault_proxy(catalog.host)
    toc = catalog.toc(3)

    def chunk_bytes(pkg: str) -> int:
        return sum(
            c.end - c.start for e in toc.entries if e.name.startswith(f"configs/{pkg}/") for c in e.chunks
        )

    def pull(pkg: str) -> dict[str, Any]:
        out = tmp_path / f"out-{pkg}-{len(list(tmp_path.iterdir()))}"
        args = ("--path", f"configs/{pkg}", "--cache-dir", str(tmp_path / "cache"))
        r = cli(
            "pull",
            f"{proxy.host}/{catalog.ref}",
            "-o",
            str(out),
            "--insecure-registry",
            proxy.host,
            "--json",
            *args,
        )
        assert r.code == 0, r.stderr
        assert _files(out) == {f"configs/{pkg}/catalog.json": catalog.configs[f"configs/{pkg}/catalog.json"]}
        layers = r.json()["layers"]
        seen.append([la["fetch"] for la in layers[:3]])
        layer: dict[str, Any] = layers[3]
        return layer

    seen: list[list[str]] = []

    first = pull("pkg01")
    assert first["fetch"] == "partial" and first["bytesFetched"] > chunk_bytes("pkg01")  # with the TOC
    second = pull("pkg02")  # the TOC comes from the cache: only the new package's chunks
    assert second["fetch"] == "partial" and second["bytesFetched"] <= chunk_bytes("pkg02") + 1024
    again = pull("pkg01")
    assert again == {**again, "fetch": "cache", "bytesFetched": 0}
    # the base layers: their TOCs fetched once, then skipped (the cache's index: nothing under configs)
    assert seen == [["partial"] * 3, ["skipped"] * 3, ["skipped"] * 3]
    # rotten cache copies (of the TOC, then of the file) are removed and fetched again, never trusted
    loc = toc.location
    raw_toc = catalog.layer_blob(3)[loc.offset : loc.offset + loc.length]
    assert _spoil(tmp_path / "cache", raw_toc) == 1, "the cache keeps one copy"
    healed = pull("pkg01")  # the TOC again, not the file
    assert healed["fetch"] == "partial" and loc.length <= healed["bytesFetched"] <= loc.length + 1024
    assert pull("pkg01")["fetch"] == "cache"
    assert _spoil(tmp_path / "cache", catalog.configs["configs/pkg01/catalog.json"]) == 1
    healed = pull("pkg01")  # the file again, not the TOC
    assert (
        healed["fetch"] == "partial"
        and chunk_bytes("pkg01") <= healed["bytesFetched"] <= chunk_bytes("pkg01") + 1024
    )
    assert pull("pkg01")["fetch"] == "cache"


def _spoil(cache: Path, content: bytes) -> int:
    """Flip the first byte of every copy of ``content`` in the files under ``cache``."""
    spoiled = 0
    for path in sorted(p for p in cache.rglob("*") if p.is_file()):
        data = bytearray(path.read_bytes())
        at = data.find(content)
        found = 0
        while at >= 0:
            data[at] ^= 0xFF
            found += 1
            at = data.find(content, at + len(content))
        if found:
            path.write_bytes(bytes(data))
            spoiled += found
    return spoiled


@pytest.fixture(scope="module")
def dual(single: ChunkedImage) -> str:
    """The single-layer image as a dual-compression index (gzip first, zstd annotated)."""
    dual_compression_index(single.gzip_layout, single.zstd_layout, single.host, "chunked/dual")
    return "chunked/dual:v1"


@pytest.mark.parametrize(
    ("prefer", "chosen", "media_type", "fetch"),
    [
        ("auto", "zstd", ZSTD, "partial"),
        ("gzip", "gzip", "application/vnd.oci.image.layer.v1.tar+gzip", "whole"),
    ],
)
def test_dual_compression_index(
    cli: Callable[..., Run],
    single: ChunkedImage,
    dual: str,
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
    prefer: str,
    chosen: str,
    media_type: str,
    fetch: str,
) -> None:
    proxy = fault_proxy(single.host)
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, dual, out, "--platform", "linux/amd64", "--prefer-compression", prefer)
    assert r.code == 0, r.stderr
    assert _files(out) == single.configs
    doc = r.json()
    assert doc["compression"]["chosen"] == chosen
    assert [v["compression"] for v in doc["compression"]["variants"]] == ["gzip", "zstd:chunked"]
    (layer,) = doc["layers"]
    assert (layer["mediaType"], layer["fetch"]) == (media_type, fetch)
    if chosen == "zstd":
        assert proxy.blob_bytes_sent <= 0.25 * single.manifest["layers"][0]["size"]


def test_inspect_shows_both_variants(cli: Callable[..., Run], single: ChunkedImage, dual: str) -> None:
    r = cli(
        "inspect", f"{single.host}/{dual}", "--insecure-registry", single.host, "--platform", "linux/amd64"
    )
    assert r.code == 0, r.stderr
    assert "Variants:   zstd chosen" in r.stdout
    assert "gzip " in r.stdout and "zstd:chunked " in r.stdout
    r = cli("inspect", f"{single.host}/{dual}", "--insecure-registry", single.host, "--json")
    assert r.code == 0, r.stderr
    assert {v["compression"] for v in r.json()["compression"]["variants"]} == {"gzip", "zstd:chunked"}


@pytest.fixture(scope="module")
def generic(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> ChunkedImage:
    """Three layers with overwrites, a whiteout, an opaque directory, symlinks and a hard link."""
    from regfix.bundles import generic_multilayer

    layers = [list(la.entries or []) for la in generic_multilayer().spec.layers]
    return _build(tmp_path_factory.mktemp("generic"), registry, "chunked/generic", layers, {})


@pytest.mark.parametrize(
    "paths", [["--all"], ["--path", "usr/bin"], ["--path", "var/cache", "--path", "etc"]]
)
def test_layer_rules_match_umoci_of_the_gzip_twin(
    cli: Callable[..., Run],
    generic: ChunkedImage,
    registry: Any,
    need_umoci: str,
    tmp_path: Path,
    paths: list[str],
) -> None:
    out = tmp_path / "out"
    r = _pull(cli, registry.host, generic.ref, out, *paths)
    assert r.code == 0, r.stderr
    assert {la["fetch"] for la in r.json()["layers"]} == ({"whole"} if paths == ["--all"] else {"partial"})
    rootfs = umoci_unpack(generic.gzip_layout, "v1", tmp_path / "bundle")
    wanted = [p for p in paths if p != "--path"]
    ignore = (
        ()
        if paths == ["--all"]
        else tuple(p.name for p in rootfs.iterdir() if p.name not in {w.split("/")[0] for w in wanted})
    )
    if "usr/bin" in wanted:
        ignore += ("usr/share", "usr/lib")
    assert compare_trees(rootfs, out, exec_bit=True, ignore=ignore) == ""


# -- integrity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("skip", "message"), [(1, "zstd:chunked file"), (0, "TOC checksum mismatch")])
def test_wrong_bytes_in_transit_are_an_integrity_error(
    cli: Callable[..., Run],
    catalog: ChunkedImage,
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
    skip: int,
    message: str,
) -> None:
    """One byte flipped by the fault proxy in the chunk read (skip 1: the TOC read passes) or in
    the TOC read itself."""
    proxy = fault_proxy(catalog.host)
    proxy.plan.corrupt_blobs = {catalog.manifest["layers"][3]["digest"]}
    proxy.plan.corrupt_skip = skip
    proxy.plan.corrupt_offset = 100
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, catalog.ref, out, "--path", "configs/pkg03")
    assert r.code == 5, r.stderr
    assert not out.exists()
    assert message in r.stderr


def test_toc_reads_do_not_wait_for_the_config(
    cli: Callable[..., Run], catalog: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    """The TOCs are requested as soon as the manifest is known: the proxy holds the config blob
    until a ranged blob GET (a TOC read) arrives, which only happens if TOC reads do not wait for
    the config (else the hold times out)."""
    proxy = fault_proxy(catalog.host)
    config = catalog.manifest["config"]["digest"]
    proxy.plan.hold_blobs = {config}
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, catalog.ref, out)
    assert r.code == 0, r.stderr
    assert _files(out) == catalog.configs
    assert [q.fault for q in proxy.requests if q.path.endswith(config)] == ["held"]
    assert [la["fetch"] for la in r.json()["layers"]] == ["partial"] * 4


def test_no_toc_read_before_the_signature_policy_accepts(
    cli: Callable[..., Run], catalog: ChunkedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    """With a signature policy, nothing of a layer is read before the policy has accepted the
    image (its config included): the held config blob is released by no TOC read."""
    proxy = fault_proxy(catalog.host)
    config = catalog.manifest["config"]["digest"]
    proxy.plan.hold_blobs = {config}
    proxy.plan.hold_timeout = 0.5
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    out = tmp_path / "out"
    r = _pull(cli, proxy.host, catalog.ref, out, "--policy", str(policy))
    assert r.code == 0, r.stderr
    assert _files(out) == catalog.configs
    assert [q.fault for q in proxy.requests if q.path.endswith(config)] == ["held-timeout"]


def test_through_a_pull_through_cache_registry(
    cli: Callable[..., Run],
    single: ChunkedImage,
    registry: Any,
    proxy_registry: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """distribution's pull-through cache answers a Range request for a blob it does not hold yet with
    the whole blob (whole-layer path); once it holds the blob, with the range (partial fetch)."""
    mirror = proxy_registry(registry)
    modes = []
    for n in range(4):  # the mirror commits the blob it streamed just after serving it: allow a retry
        out = tmp_path / f"out{n}"
        r = _pull(cli, mirror.host, single.ref, out, "--path", "configs/p2")
        assert r.code == 0, r.stderr
        assert _files(out) == {"configs/p2/catalog.json": single.configs["configs/p2/catalog.json"]}
        modes.append(r.json()["layers"][0]["fetch"])
        if modes[-1] == "partial":
            break
        time.sleep(0.5 * n)
    assert modes[0] == "whole" and modes[-1] == "partial", modes


def test_toc_checksum_mismatch_is_an_integrity_error(
    cli: Callable[..., Run], single: ChunkedImage, registry: Any, tmp_path: Path
) -> None:
    """The manifest's checksum annotation is changed (the layout edited by hand, pushed as is)."""
    layout = tmp_path / "layout"
    shutil.copytree(single.zstd_layout, layout)
    manifest = read_manifest(layout, "v1")
    for key in ("_digest", "_size"):
        manifest.pop(key)
    ann = manifest["layers"][0]["annotations"]
    ann["io.containers.zstd-chunked.manifest-checksum"] = "sha256:" + "0" * 64
    _replace_manifest(layout, manifest)
    skopeo_push(layout, "v1", registry.host, "chunked/badtoc", "v1")
    out = tmp_path / "out"
    r = _pull(cli, registry.host, "chunked/badtoc:v1", out)
    assert r.code == 5, r.stderr
    assert "checksum mismatch" in r.stderr
    assert not out.exists()


def _replace_manifest(layout: Path, manifest: dict[str, Any]) -> None:
    import hashlib

    raw = json.dumps(manifest).encode()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    blob_path(layout, digest).write_bytes(raw)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0].update(digest=digest, size=len(raw))
    (layout / "index.json").write_text(json.dumps(index))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([({"type": "reg", "name": "configs/../../escape"}, b"out of the root")], "contains '..'"),
        (
            [
                ({"type": "reg", "name": "configs/a"}, b"first file"),
                ({"type": "reg", "name": "configs/b", "offset": 0}, b"second file, overlapping the first"),
            ],
            "overlap",
        ),
    ],
    ids=["escaping-path", "overlapping-ranges"],
)
def test_hostile_toc_is_an_integrity_error(
    cli: Callable[..., Run],
    registry: Any,
    push_image: Callable[..., Any],
    tmp_path: Path,
    files: list[tuple[dict[str, object], bytes]],
    message: str,
) -> None:
    """Hand-made blobs (no producer writes such TOCs), with a TOC checksum that matches."""
    blob, annotations = handmade_layer([({"type": "dir", "name": "configs/"}, b""), *files])
    layer = Layer(
        tar=blob, compression="none", media_type=ZSTD, diff_id="sha256:" + "1" * 64, annotations=annotations
    )
    img = push_image(
        registry,
        ImageSpec(layers=[layer], labels={CONFIGS_LABEL: "/configs"}),
        f"chunked/hostile-{len(files)}",
    )
    out = tmp_path / "out"
    r = _pull(cli, registry.host, img.ref.split("/", 1)[1], out)
    assert r.code == 5, r.stderr
    assert message in r.stderr
    assert not out.exists()


def test_library_client_pull_and_inspect(single: ChunkedImage, dual: str, tmp_path: Path) -> None:
    """The same through the library: Client.pull reports partial layers, Client.inspect the variants."""
    from imgextract import Client

    with Client(insecure_registries=[single.host], use_cache=False, platform="linux/amd64") as client:
        result = client.pull(f"{single.host}/{single.ref}", tmp_path / "out", paths=["configs/p1"])
        assert [(la.fetch, la.media_type) for la in result.layers] == [("partial", ZSTD)]
        assert 0 < result.layers[0].bytes_fetched < 0.25 * single.manifest["layers"][0]["size"]
        assert _files(tmp_path / "out") == {
            "configs/p1/catalog.json": single.configs["configs/p1/catalog.json"]
        }
        forced = client.inspect(f"{single.host}/{dual}", prefer_compression="gzip")
        assert forced.compression is not None and forced.compression["chosen"] == "gzip"
        assert forced.layers[0].media_type.endswith("+gzip")


@pytest.mark.parametrize("size", [5, 40], ids=["longer-than-toc", "shorter-than-toc"])
def test_chunk_size_disagreeing_with_the_toc_is_exit_5(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., Any], tmp_path: Path, size: int
) -> None:
    """A chunk decompressing to more, or fewer, bytes than the TOC says (hand-made; the TOC's
    checksum matches): the same outcome either way, the bytes do not match the TOC."""
    content = b"twenty bytes of data"
    blob, annotations = handmade_layer(
        [
            ({"type": "dir", "name": "configs/"}, b""),
            ({"type": "reg", "name": "configs/a", "size": size}, content),
        ]
    )
    layer = Layer(
        tar=blob, compression="none", media_type=ZSTD, diff_id="sha256:" + "1" * 64, annotations=annotations
    )
    img = push_image(
        registry, ImageSpec(layers=[layer], labels={CONFIGS_LABEL: "/configs"}), f"chunked/size-{size}"
    )
    out = tmp_path / "out"
    r = _pull(cli, registry.host, img.ref.split("/", 1)[1], out)
    assert r.code == 5, r.stderr
    assert f"the TOC says {size}" in r.stderr or "larger than the TOC says" in r.stderr
    assert not out.exists()


def test_an_image_with_an_empty_layer_and_zeros_chunks_is_pulled_partially(
    cli: Callable[..., Run], registry: Any, tmp_path: Path
) -> None:
    """skopeo writes an empty layer's TOC with ``"entries":null`` and cuts runs of zeros into
    ``zeros`` chunks: both are fetched partially, as containers/storage does."""
    rng = random.Random(17)
    sparse = _noise(rng, 3000) + bytes(40_000) + _noise(rng, 3000)
    configs = [Dir("configs"), Dir("configs/p"), File("configs/p/catalog.json", _catalog_json(rng, "p", 500))]
    configs += [File("configs/p/icon.bin", sparse), File("opt/other.bin", _noise(rng, 200_000))]
    image = _build(
        tmp_path / "img", registry, "chunked/empty-layer", [configs, []], {CONFIGS_LABEL: "/configs"}
    )
    out = tmp_path / "out"
    r = _pull(cli, registry.host, image.ref, out)
    assert r.code == 0, r.stderr
    assert _files(out) == image.configs
    layers = json.loads(r.stdout)["layers"]
    assert [la["fetch"] for la in layers] == ["partial", "partial"]


def _skopeo_layer(entries: list[Any], tmp_path: Path) -> tuple[bytes, dict[str, Any], bytes, Any]:
    """``entries`` as a tar, converted by skopeo to one zstd:chunked layer with a 48-byte footer
    (skopeo 1.9): the tar, the layer's descriptor, its blob and its TOC location."""
    tar = go_tar(entries)
    gz = tmp_path / "gzip"
    write_layout(gz, ImageSpec(layers=[Layer(tar=tar)]), "v1")
    manifest = convert(gz, "v1", tmp_path / "zstd")
    desc = manifest["layers"][0]
    blob = blob_path(tmp_path / "zstd", desc["digest"]).read_bytes()
    loc = toc_location(desc["annotations"])
    assert loc is not None and loc.offset + loc.length + 48 == len(blob)
    return tar, desc, blob, loc


def test_a_toc_of_another_version_gets_the_whole_layer(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    """A skopeo layer whose TOC is rewritten as a version this reader does not know (checksum
    and position annotations and footer made to match): the documented fallback, the whole layer,
    verified by its digest and diff_id; not an integrity error."""
    import hashlib
    import struct

    import zstandard

    entries = [Dir("configs"), File("configs/catalog.json", b'{"schema": "olm.package"}\n')]
    tar, desc, blob, loc = _skopeo_layer(entries, tmp_path)
    doc = json.loads(
        zstandard.ZstdDecompressor().stream_reader(blob[loc.offset :]).read(loc.uncompressed_length)
    )
    raw = json.dumps({**doc, "version": 2}).encode()
    toc = zstandard.ZstdCompressor().compress(raw)
    head = blob[: loc.offset - 8] + struct.pack("<II", 0x184D2A50, len(toc))
    footer = struct.pack("<IIQQQQ8s", 0x184D2A50, 40, loc.offset, len(toc), len(raw), 1, b"GnUlInUx")
    annotations = {
        "io.containers.zstd-chunked.manifest-checksum": "sha256:" + hashlib.sha256(toc).hexdigest(),
        "io.containers.zstd-chunked.manifest-position": f"{loc.offset}:{len(toc)}:{len(raw)}:1",
    }
    layer = Layer(
        tar=head + toc + footer,
        compression="none",
        media_type=ZSTD,
        diff_id="sha256:" + hashlib.sha256(tar).hexdigest(),
        annotations=annotations,
    )
    img = push_image(
        registry, ImageSpec(layers=[layer], labels={CONFIGS_LABEL: "/configs"}), "chunked/toc-v2"
    )
    out = tmp_path / "out"
    r = _pull(cli, registry.host, img.ref.split("/", 1)[1], out)
    assert r.code == 0, r.stderr
    assert _files(out) == {"configs/catalog.json": b'{"schema": "olm.package"}\n'}
    assert [la["fetch"] for la in json.loads(r.stdout)["layers"]] == ["whole"]


def test_the_newer_layout_is_read_through_its_annotations(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    """Newer writers spell the annotations ``io.github.containers.zstd-chunked.*`` and put a
    tar-split frame and a 64-byte footer (magic ``GNUlInUx``) after the TOC; footer formats
    differ between versions, so the annotations alone locate the TOC.  A skopeo 1.9 layer
    rewritten that way (its TOC bytes, checksum and position unchanged) is fetched partially."""
    import hashlib
    import struct

    import zstandard

    entries = [
        Dir("configs"),
        File("configs/catalog.json", b'{"schema": "olm.package"}\n'),
        File("bin/tool", b"x"),
    ]
    tar, desc, blob, loc = _skopeo_layer(entries, tmp_path)
    head = blob[: loc.offset + loc.length]
    split_raw = b'{"type":2,"payload":"not read here"}\n'
    split = zstandard.ZstdCompressor().compress(split_raw)
    split_at = len(head) + 8
    tail = struct.pack("<II", 0x184D2A50, len(split)) + split
    footer = struct.pack("<II", 0x184D2A50, 56) + struct.pack(
        "<6Q", loc.offset, loc.length, loc.uncompressed_length, split_at, len(split), 1
    )
    footer += b"GNUlInUx"
    assert len(footer) == 64
    new = "io.github.containers.zstd-chunked."
    annotations = {
        new + "manifest-checksum": desc["annotations"]["io.containers.zstd-chunked.manifest-checksum"],
        new + "manifest-position": f"{loc.offset}:{loc.length}:{loc.uncompressed_length}:1",
        new + "tarsplit-position": f"{split_at}:{len(split)}:{len(split_raw)}",
    }
    layer = Layer(
        tar=head + tail + footer,
        compression="none",
        media_type=ZSTD,
        diff_id="sha256:" + hashlib.sha256(tar).hexdigest(),
        annotations=annotations,
    )
    img = push_image(registry, ImageSpec(layers=[layer], labels={CONFIGS_LABEL: "/configs"}), "chunked/newer")
    out = tmp_path / "out"
    r = _pull(cli, registry.host, img.ref.split("/", 1)[1], out)
    assert r.code == 0, r.stderr
    assert _files(out) == {"configs/catalog.json": b'{"schema": "olm.package"}\n'}
    assert [la["fetch"] for la in json.loads(r.stdout)["layers"]] == ["partial"]

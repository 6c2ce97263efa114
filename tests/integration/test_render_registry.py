"""``render`` against a real registry (CNCF distribution): bundle images, catalog images, bad images,
the content cache, the CLI and the library giving the same objects."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix.bundles import fbc_catalog
from regfix.oci import File, ImageSpec

from imgextract import Client
from imgextract.errors import InvalidBundleError
from imgextract.rendering import encode
from tests.e2e.cli import run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "render"
WIDGET = DATA / "widget-operator"
GOLDEN_IMAGE = "127.0.0.1:50000/render/widget:v1.2.0"
LABELS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": "widget-operator",
    "operators.operatorframework.io.bundle.channels.v1": "stable,fast",
}


def _bundle_spec(labels: dict[str, str] | None = None) -> ImageSpec:
    files = [
        File(str(p.relative_to(WIDGET)), p.read_bytes()) for p in sorted(WIDGET.rglob("*")) if p.is_file()
    ]
    files.append(File("usr/share/doc/big.txt", b"not needed to render\n" * 4096))
    return ImageSpec(layers=[files], labels=LABELS if labels is None else labels)


def _client(host: str, cache: Path | None) -> Client:
    if cache is None:
        return Client(insecure_registries=[host], use_cache=False)
    return Client(insecure_registries=[host], cache_dir=cache)


def render_raw(refs: list[str], common: Client, **kw: Any) -> list[dict[str, Any]]:
    with common as client:
        return client.render(refs, raw=True, **kw)


def render(refs: list[str] | str, common: Client, **kw: Any) -> list[dict[str, Any]]:
    with common as client:
        return client.render(refs, **kw)


@pytest.fixture
def widget_image(registry: Any, push_image: Callable[..., Any]) -> Any:
    return push_image(registry, _bundle_spec(), "render/widget", tag="v1.2.0")


@pytest.mark.parametrize("level", ["none", "bundle-object-to-csv-metadata"])
def test_bundle_image_matches_golden_all_formats(
    widget_image: Any, fault_proxy: Callable[..., Any], tmp_path: Path, level: str
) -> None:
    fp = fault_proxy(widget_image.registry)
    ref = f"{fp.host}/render/widget:v1.2.0"  # the tag stays in "image" (not the digest)
    objs = render_raw([ref], _client(fp.host, tmp_path / "cache"), migrate_level=level)
    for fmt in ("json", "yaml", "ndjson"):
        expected = (DATA / "expected" / f"widget-image.{level}.{fmt}").read_text().replace(GOLDEN_IMAGE, ref)
        assert encode(objs, fmt) == expected, fmt
    layer = widget_image.layout.image.layers[0].digest
    assert any(layer in r.path for r in fp.requests)

    # warm: same digest, rendered from the content cache; the layer is not requested again
    fp.reset()
    again = render_raw([ref], _client(fp.host, tmp_path / "cache"), migrate_level=level)
    assert encode(again, "json") == encode(objs, "json")
    assert not any(layer in r.path for r in fp.requests)
    assert any("/manifests/" in r.path for r in fp.requests)


def test_cli_and_library_give_the_same_objects(widget_image: Any, tmp_path: Path) -> None:
    ref = widget_image.ref
    host = ref.split("/")[0]
    lib = render([ref, str(WIDGET)], _client(host, tmp_path / "c1"))
    run = run_cli(
        "render",
        ref,
        str(WIDGET),
        "-o",
        "ndjson",
        "--insecure-registry",
        host,
        "--cache-dir",
        str(tmp_path / "c2"),
    )
    assert run.code == 0, run.stderr
    import json

    assert [json.loads(line) for line in run.stdout.splitlines()] == lib
    yaml_run = run_cli("render", ref, "-o", "yaml", "--insecure-registry", host, "--no-cache")
    assert yaml_run.code == 0 and yaml_run.stdout == encode(
        render_raw([ref], _client(host, tmp_path / "c3")), "yaml"
    )


def test_label_less_image_is_opms_error(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    img = push_image(registry, _bundle_spec(labels={}), "render/nolabels")
    with pytest.raises(InvalidBundleError, match="image type could not be determined: image has no labels"):
        render(img.ref, _client(registry.host, tmp_path))
    other = push_image(registry, _bundle_spec(labels={"vendor": "acme", "a": "b"}), "render/otherlabels")
    with pytest.raises(InvalidBundleError, match="found labels.*a=b.*vendor=acme"):
        render(other.ref, _client(registry.host, tmp_path))
    run = run_cli("render", img.ref, "--insecure-registry", registry.host, "--no-cache")
    assert run.code == 6 and "image has no labels" in run.stderr and "Traceback" not in run.stderr


def test_sqlite_index_image_is_refused(registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    labels = {"operators.operatorframework.io.index.database.v1": "/database/index.db"}
    img = push_image(registry, _bundle_spec(labels=labels), "render/sqlite")
    with pytest.raises(InvalidBundleError, match="sqlite-based index images are no longer supported"):
        render(img.ref, _client(registry.host, tmp_path))


def test_image_with_configs_and_database_labels_renders_its_configs(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    """``Render.renderImageConfig`` (opm without sqlite support): the configs label decides before the
    database label, which is no longer looked at; only a database label alone is refused."""
    import dataclasses

    fx = fbc_catalog(packages=("gadget-operator",))
    labels = {**fx.spec.labels, "operators.operatorframework.io.index.database.v1": "/database/index.db"}
    both = dataclasses.replace(fx, spec=dataclasses.replace(fx.spec, labels=labels))
    img = push_image(registry, both, "render/hybrid")
    objs = render(img.ref, _client(registry.host, tmp_path))
    assert [o["schema"] for o in objs][:2] == ["olm.package", "olm.channel"]


def test_catalog_image_renders_its_configs(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    fx = fbc_catalog()
    img = push_image(registry, fx, "render/catalog")
    objs = render(img.ref, _client(registry.host, tmp_path))
    # declcfg.WriteJSON order: by package; package, channels, bundles by name
    assert [(o["schema"], o.get("package", o.get("name"))) for o in objs][:2] == [
        ("olm.package", "gadget-operator"),
        ("olm.channel", "gadget-operator"),
    ]
    assert {o["schema"] for o in objs} >= {"olm.package", "olm.channel", "olm.bundle"}
    # the same catalog as a directory renders to the same bytes
    root = tmp_path / "fbc"
    for name, data in fx.files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    configs = root / fx.labels["operators.operatorframework.io.index.configs.v1"].strip("/")
    assert render(str(configs), _client(registry.host, None)) == objs


def test_many_refs_one_call(registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    refs = [push_image(registry, _bundle_spec(), f"render/many{i}", tag="v1").ref for i in range(3)]
    objs = render(refs, _client(registry.host, None), jobs=3)
    assert sorted(o["image"] for o in objs) == sorted(refs)


def test_warm_render_asks_the_registry_only_what_it_must(
    widget_image: Any, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    fp = fault_proxy(widget_image.registry)
    tag_ref = f"{fp.host}/render/widget:v1.2.0"
    digest_ref = f"{fp.host}/render/widget@{widget_image.digest}"
    cold = render_raw([tag_ref, digest_ref], _client(fp.host, tmp_path / "cache"))

    # warm: a tag is re-checked with one manifest request (no config, no layer; the registry's
    # /v2/ ping once per run); a digest-pinned reference already rendered at that digest needs no
    # request at all
    fp.reset()
    warm = render_raw([tag_ref, digest_ref], _client(fp.host, tmp_path / "cache"))
    assert encode(warm, "json") == encode(cold, "json")
    paths = [r.path for r in fp.requests]
    assert paths == ["/v2/", "/v2/render/widget/manifests/v1.2.0"], paths
    fp.reset()
    assert encode(render_raw([digest_ref], _client(fp.host, tmp_path / "cache")), "json") == encode(
        [o for o in cold if o.get("image") == digest_ref], "json"
    )
    assert fp.requests == []


def _widget_files_saying_nobody() -> list[File]:
    """The widget bundle's files with its CSV changed ("Widgets <for> nobody"): other content."""
    csv = "manifests/widget-operator.clusterserviceversion.yaml"
    return [
        File(
            str(p.relative_to(WIDGET)),
            p.read_bytes().replace(b"Widgets <for> everyone", b"Widgets <for> nobody")
            if str(p.relative_to(WIDGET)) == csv
            else p.read_bytes(),
        )
        for p in sorted(WIDGET.rglob("*"))
        if p.is_file()
    ]


def test_a_tag_moved_to_a_new_digest_renders_the_new_content(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    old = push_image(registry, _bundle_spec(), "render/moving", tag="v1")
    fp = fault_proxy(registry)
    ref = f"{fp.host}/render/moving:v1"
    first = render([ref], _client(fp.host, tmp_path / "cache"))
    # the same tag now names other content (a CSV that says something else)
    files = _widget_files_saying_nobody()
    new = push_image(registry, ImageSpec(layers=[files], labels=LABELS), "render/moving", tag="v1")
    assert new.digest != old.digest
    fp.reset()
    second = render([ref], _client(fp.host, tmp_path / "cache"))
    assert second != first
    assert second == render([ref], _client(fp.host, None))  # what a render without a cache gives
    objects = [
        base64.b64decode(prop["value"]["data"])
        for prop in second[0]["properties"]
        if prop["type"] == "olm.bundle.object"
    ]
    assert any(b"for\\u003e nobody" in o for o in objects)
    # the new image's layers were fetched: nothing came from the old rendering
    fetched = {r.path.rsplit("/", 1)[1] for r in fp.requests if "/blobs/" in r.path}
    assert new.layout.image.layers[0].digest in fetched


WARM_RENDER_NEVER_LOADS = (
    # a bundle rendered before comes from the cache as text: no bundle reader, no YAML (json
    # output), no layer extraction or output machinery
    "yaml",
    "imgextract.catalog.render.bundle",
    "imgextract.catalog.render.bundlefiles",
    "imgextract.catalog.render.bundlemeta",
    "imgextract.catalog.render.bundleparse",
    "imgextract.catalog.render.bundleprops",
    "imgextract.catalog.render.manifestmemo",
    "imgextract.catalog.render.parsedbundle",
    "imgextract.catalog.render.relatedimages",
    "imgextract.catalog.render.goyaml",
    "imgextract.catalog.render.goresolve",
    "imgextract.catalog.render.goyamlevents",
    "imgextract.catalog.render.goyamlnodes",
    "imgextract.catalog.render.goyamlout",
    "imgextract.operations",
    "imgextract.pull.extract",
    "imgextract.layers.applier",
    "imgextract.outputs.directory",
    "tarfile",
    # nor the rendered objects (the text answers), manifest or config parsing (the manifest's
    # digest finds the text), the layer index, nor what only writes or prunes the cache
    # (temporary files, tree removal)
    "imgextract.catalog.render.rendered",
    "imgextract.oci.manifest",
    "imgextract.oci.config",
    "imgextract.cache.layerindex",
    "imgextract.removal",
    "shutil",
    "tempfile",
)


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _cli_render(
    refs: list[str], host: str, cache: Path, *flags: str, env: dict[str, str] | None = None
) -> Any:
    run = run_cli(
        "render", *refs, "--insecure-registry", host, "-q", "--cache-dir", str(cache), *flags, env=env
    )
    assert run.code == 0, run.stderr[-2000:]
    return run


def test_command_keeps_each_bundle_images_output_text(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    host = registry.host
    first = push_image(registry, _bundle_spec(), "render/kept-a", tag="v1")
    second = push_image(registry, _bundle_spec(), "render/kept-b", tag="v1")
    # the same digest under two names: the name is in "image", so each has its own text
    refs = [second.ref, first.ref, f"{host}/render/kept-a@{first.digest}"]
    cache = tmp_path / "cache"
    expected = {
        (fmt, level): encode(render_raw(refs, _client(host, None), migrate_level=level), fmt)
        for fmt in ("json", "yaml", "ndjson")
        for level in ("none", "bundle-object-to-csv-metadata")
    }

    cold = _cli_render(refs, host, cache, "-o", "json")
    assert cold.stdout == expected["json", "none"]
    kept = sorted((cache / "render").glob("*.out.json"))
    assert len(kept) == 3
    warm = _cli_render(refs, host, cache, "-o", "json", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert warm.stdout == expected["json", "none"]
    loaded = _imported(warm.stderr)
    assert "imgextract.catalog.render.pipeline" in loaded  # the import log is read
    assert loaded & set(WARM_RENDER_NEVER_LOADS) == set()
    assert sorted((cache / "render").glob("*.out.json")) == kept

    # every format and level has its own text, each written by the first run that needs it
    for fmt, level in expected:
        if (fmt, level) != ("json", "none"):
            run = _cli_render(refs, host, cache, "-o", fmt, "--migrate-level", level)
            assert run.stdout == expected[fmt, level], (fmt, level)
    assert len(list((cache / "render").glob("*.out.*"))) == 3 * 6
    again = _cli_render(refs, host, cache, "-o", "yaml", "--migrate-level", "bundle-object-to-csv-metadata")
    assert again.stdout == expected["yaml", "bundle-object-to-csv-metadata"]

    # a damaged text (cut short) is not used: rendered again from the bundle's cached rendering
    for path in kept:
        path.write_bytes(path.read_bytes()[:-10])
    assert _cli_render(refs, host, cache, "-o", "json").stdout == expected["json", "none"]
    for path in kept:
        path.write_bytes(b"not a head line\n" + path.read_bytes())
    assert _cli_render(refs, host, cache, "-o", "json").stdout == expected["json", "none"]

    # the tag moves to other content: its new digest has no text yet
    files = _widget_files_saying_nobody()
    push_image(registry, ImageSpec(layers=[files], labels=LABELS), "render/kept-b", tag="v1")
    moved = _cli_render(refs, host, cache, "-o", "json")
    assert moved.stdout == encode(render_raw(refs, _client(host, None)), "json")
    assert moved.stdout != expected["json", "none"]


def test_kept_output_is_found_by_the_manifest_digest_alone(
    widget_image: Any, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    fp = fault_proxy(widget_image.registry)
    ref = f"{fp.host}/render/widget:v1.2.0"
    cache = tmp_path / "cache"
    cold = _cli_render([ref], fp.host, cache, "-o", "json")
    # only the kept text stays: no config blob, no layer, no rendering to fall back on
    for kind in ("blobs", "index"):
        shutil.rmtree(cache / kind, ignore_errors=True)
    for path in (cache / "render").glob("*.json"):
        if ".out." not in path.name:
            path.unlink()
    fp.reset()
    warm = _cli_render([ref], fp.host, cache, "-o", "json")
    assert warm.stdout == cold.stdout
    # the tag is re-checked at the registry; its digest finds the text: the config is not read
    assert [r.path for r in fp.requests] == ["/v2/", "/v2/render/widget/manifests/v1.2.0"]


def test_a_mirror_serving_a_bad_config_hands_the_image_to_the_next_source(
    widget_image: Any, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    # the mirror answers the tag (the first step, which the kept output would need alone), then
    # serves a config that does not match its digest: the image comes from the primary
    mirror = fault_proxy(widget_image.registry)
    mirror.plan.corrupt_blobs = {widget_image.layout.image.config_digest}
    host = widget_image.registry.host
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nlocation = "{host}/render"\ninsecure = true\n'
        f'\n[[registry.mirror]]\nlocation = "{mirror.host}/render"\ninsecure = true\n'
    )
    (tmp_path / "conf.d").mkdir()
    ref = f"{host}/render/widget:v1.2.0"
    run = _cli_render(
        [ref],
        mirror.host,
        tmp_path / "cache",
        "--registries-conf",
        str(conf),
        "--registries-conf-dir",
        str(tmp_path / "conf.d"),
    )
    assert run.stdout == encode(render_raw([ref], _client(host, None)), "json")
    assert any(r.fault == "corrupt" for r in mirror.requests)  # the mirror was asked, and failed


def _rendered_dir(files: dict[str, bytes], root: Path, ref: str) -> str:
    """The json text of the bundle directory holding ``files``, rendered as if its image were ``ref``."""
    from imgextract.catalog.render.bundle import render_bundle
    from imgextract.catalog.render.migrate import migrate_bundle

    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return encode([migrate_bundle(render_bundle(root, image=ref), "none").to_fbc()], "json")


@pytest.mark.parametrize("stack", ["plain layers", "a whiteout", "a symlink", "a symlink from outside"])
def test_layer_stacks_render_as_their_final_tree(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path, stack: str
) -> None:
    # small plain layers are read in memory (layers/memtree.py), anything else is applied to disk:
    # either way the rendering is that of the tree the layers leave
    from regfix.oci import Symlink, Whiteout

    from imgextract.layers.applier import Limits
    from imgextract.pull.extract import read_small_tree
    from imgextract.reference import parse_reference

    final = {str(p.relative_to(WIDGET)): p.read_bytes() for p in sorted(WIDGET.rglob("*")) if p.is_file()}
    base = [File(k, v) for k, v in final.items() if k != "manifests/service.yaml"]
    extra = File("manifests/zz-extra.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n")
    if stack == "plain layers":  # later layers add one file and replace another
        csv = "manifests/widget-operator.clusterserviceversion.yaml"
        first = [f for f in base if f.info.name != csv] + [File(csv, b"kind: Nothing\n")]
        layers = [
            first,
            [File("manifests/service.yaml", final["manifests/service.yaml"])],
            [File(csv, final[csv])],
        ]
    elif stack == "a whiteout":
        layers = [[*base, extra, File("manifests/service.yaml", final["manifests/service.yaml"])]]
        layers.append([Whiteout("manifests/zz-extra.yaml")])
    elif stack == "a symlink from outside":  # an unselected name resolving into the selection
        layers = [
            base,
            [
                Symlink("opt/bundle", "/manifests"),
                File("opt/bundle/service.yaml", final["manifests/service.yaml"]),
            ],
        ]
    else:
        layers = [[*base, File("manifests/sub/service.yaml", final["manifests/service.yaml"])]]
        layers.append([Symlink("manifests/service.yaml", "sub/service.yaml")])
        final["manifests/sub/service.yaml"] = final["manifests/service.yaml"]
    image = push_image(registry, ImageSpec(layers=layers, labels=LABELS), "render/stack", tag="v1")
    ref = image.ref
    with _client(registry.host, tmp_path / "cache") as client:
        objs = client.render([ref], raw=True)
        resolved = client.resolve(parse_reference(ref))
        tree = read_small_tree(resolved, ("manifests", "metadata"), Limits())
    assert (tree is not None) == (stack == "plain layers")
    assert encode(objs, "json") == _rendered_dir(final, tmp_path / "dir", ref)


def test_a_cold_render_of_plain_documents_loads_no_pyyaml(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    # PyYAML's import costs some 8 ms of a render's start-up: with the YAML reader's C extension, a
    # bundle whose documents hold no anchor, alias or tag is read without it (without the extension
    # the Python loop reads them through PyYAML's parser).  The widget bundle without its file of
    # comments only, which holds no document: the C loop leaves that to the node tree.
    from imgextract.catalog.render import goyaml

    spec = _bundle_spec()
    plain = [f for f in spec.layers[0] if not f.info.name.endswith("aa-commented.yaml")]
    assert len(plain) == len(spec.layers[0]) - 1
    image = push_image(registry, ImageSpec(layers=[plain], labels=LABELS), "render/plain", tag="v1")
    run = _cli_render(
        [image.ref], registry.host, tmp_path / "cache", "-o", "json", env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert json.loads(run.stdout)["schema"] == "olm.bundle"
    loaded = _imported(run.stderr)
    assert "imgextract.catalog.render.goyaml" in loaded  # the bundle was read: the import log is read
    assert ("yaml" in loaded) is (goyaml._C_LOAD is None)


BEFORE_THE_FIRST_REQUEST_NEVER = (
    # the output encoders: a format is checked without them
    "imgextract.catalog.render.writer",
    "imgextract.catalog.render.gojson",
    # what reading an image and rendering a bundle take: loaded while the first requests are out
    # (the manifest and config types too, which ``imgextract.oci`` loads through import_module,
    # out of the import log's sight)
    "imgextract.catalog.render.rendered",
    "imgextract.catalog.render.bundle",
    "imgextract.catalog.render.goyaml",
    "imgextract.catalog.render.olmtypes",
    "imgextract.pull.extract",
    "imgextract.layers.applier",
    "imgextract.layers.tarheader",
    "tarfile",
    "isal",
    "orjson",
)


def test_a_cold_render_asks_the_registry_before_loading_the_reader_and_encoders(
    widget_image: Any, tmp_path: Path
) -> None:
    # every millisecond before the first request is a millisecond of the command's time: the
    # registry has nothing to do until then
    host = widget_image.registry.host
    refs = [widget_image.ref, widget_image.digest_ref]  # two references: the worker pool
    run = run_cli(
        "render",
        *refs,
        "-o",
        "json",
        "--insecure-registry",
        host,
        "-vvv",
        "--cache-dir",
        str(tmp_path / "cache"),
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert run.code == 0, run.stderr[-2000:]
    assert [o["image"] for o in _objects(run.stdout)] == sorted(refs)
    # the import log and the wire log (-vvv: each connection and request, naming the registry)
    # share stderr, in the order things happened
    lines = run.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if host in line and not line.startswith("import time:"))
    before, after = _imported("\n".join(lines[:first])), _imported("\n".join(lines[first:]))
    assert {"imgextract.client", "imgextract.catalog.render.pipeline"} <= before  # the log is read
    assert set(BEFORE_THE_FIRST_REQUEST_NEVER) <= after  # each one was needed, and loaded
    assert before & set(BEFORE_THE_FIRST_REQUEST_NEVER) == set()


def _objects(text: str) -> list[dict[str, Any]]:
    decoder, objs, at = json.JSONDecoder(), [], 0
    while at < len(text):
        obj, at = decoder.raw_decode(text, at)
        objs.append(obj)
        while at < len(text) and text[at].isspace():
            at += 1
    return objs


@pytest.mark.parametrize("flag", [None, "--no-pin-cpu"])
def test_the_command_keeps_its_workers_on_one_cpu_unless_told(
    widget_image: Any, tmp_path: Path, flag: str | None
) -> None:
    # imgextract.cpupin: the hand-overs of the GIL between the workers stay on one CPU (the
    # affinity itself: tests/unit/render/test_pipeline_cpupin.py)
    import os

    refs = [widget_image.ref, widget_image.digest_ref]  # two references: the worker pool
    host = widget_image.registry.host
    args = ["render", *refs, "--insecure-registry", host, "-vv", "--no-cache", *([flag] if flag else [])]
    run = run_cli(*args)
    assert run.code == 0, run.stderr[-2000:]
    assert [o["image"] for o in _objects(run.stdout)] == sorted(refs)
    kept = [line for line in run.stderr.splitlines() if "render workers kept on CPU" in line]
    several = len(os.sched_getaffinity(0)) > 1
    assert len(kept) == (1 if flag is None and several else 0), run.stderr[-2000:]

"""`bundle-extract catalog ...`, `job --from-catalog` and the usage errors of `pull --from-catalog`, run as
users run them (a subprocess), against generated catalogs: a directory and an image in a real registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from regfix.catalogs import generate
from regfix.registry import Registry

from imgextract.catalog import Catalog
from tests.e2e.cli import Run
from tests.unit.outputs.k8s_schema import validate
from tests.unit.outputs.test_job import assert_restricted

GEN = generate(40, seed=23)


@pytest.fixture(scope="module")
def fbc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return GEN.write(tmp_path_factory.mktemp("fbc") / "configs")


def test_images_of_a_catalog_image_equal_every_related_image(
    cli: Callable[..., Run], registry: Registry, push_image: Callable[..., object]
) -> None:
    pushed = push_image(registry, GEN.image_spec(), "catalogs/cli", "v1")
    r = cli("catalog", "images", pushed.ref, "--insecure-registry", registry.host)  # type: ignore[attr-defined]
    assert r.code == 0, r.stderr
    want = set().union(*(b.images() for b in GEN.bundles()))
    assert r.stdout.splitlines() == sorted(want)
    r = cli(
        "catalog",
        "images",
        pushed.ref,  # type: ignore[attr-defined]
        "--insecure-registry",
        registry.host,
        "--package",
        "pkg-0003-operator",
        "--all-bundles",
        "--json",
    )
    assert r.code == 0, r.stderr
    assert set(r.json()) == set().union(
        *(b.images() for b in GEN.packages["pkg-0003-operator"].bundles.values())
    )


def test_json_answers_equal_the_library(cli: Callable[..., Run], fbc_dir: Path) -> None:
    sel = Catalog.from_directory(fbc_dir).filter(channels=["stable"], heads_only=True)
    for what, objs in (
        ("packages", [p.to_json() for p in sel.packages()]),
        ("channels", [c.to_json() for c in sel.channels()]),
        ("bundles", [b.to_json() for b in sel.bundles()]),
    ):
        r = cli("catalog", what, str(fbc_dir), "--channel", "stable", "--heads-only", "--json")
        assert r.code == 0, r.stderr
        assert r.json() == objs
    # every bundle listed is the head of its package's stable channel
    heads = {
        GEN.packages[p].channels["stable"].head for p in GEN.packages if "stable" in GEN.packages[p].channels
    }
    assert {b["name"] for b in r.json()} == heads


def test_plain_output_is_one_item_per_line(cli: Callable[..., Run], fbc_dir: Path) -> None:
    # a pre-release bound: pre-release bundles are in the range too (oc-mirror's semver ranges)
    r = cli("catalog", "bundles", str(fbc_dir), "--package", "pkg-0001-operator", "--min-version", "0.0.0-0")
    assert r.code == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert {row[1] for row in rows} == set(GEN.packages["pkg-0001-operator"].bundles)
    assert all(len(row) == 5 and row[0] == "pkg-0001-operator" for row in rows)


def test_replaced_default_channel_is_named(cli: Callable[..., Run], fbc_dir: Path) -> None:
    victim = next(
        p for p in GEN.packages.values() if p.default_channel != "stable" and "stable" in p.channels
    )
    r = cli(
        "catalog",
        "packages",
        str(fbc_dir),
        "--package",
        victim.name,
        "--channel",
        "stable",
        "--all-bundles",
        "--json",
    )
    assert r.code == 0, r.stderr
    assert r.json() == [
        {
            "name": victim.name,
            "defaultChannel": "stable",
            "channels": ["stable"],
            "replacedDefaultChannel": victim.default_channel,
        }
    ]
    r = cli(
        "catalog",
        "render",
        str(fbc_dir),
        "--package",
        victim.name,
        "--channel",
        "stable",
        "--all-bundles",
        "-o",
        "ndjson",
    )
    assert r.code == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    [pkg] = [o for o in objs if o["schema"] == "olm.package"]
    assert pkg["defaultChannel"] == "stable"
    assert {o["name"] for o in objs if o["schema"] == "olm.channel"} == {"stable"}
    assert {o["name"] for o in objs if o["schema"] == "olm.bundle"} == set(victim.channels["stable"].members)
    assert f"default channel {victim.default_channel} filtered out" in r.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--package", "no-such-operator"), 4, "not in the catalog"),
        (("--channel", "no-such-channel"), 4, "not in the catalog"),
        (("--heads-only", "--min-version", "1.0.0"), 2, "--heads-only"),
        (("--max-version", "1.2.3.4"), 2, "invalid semantic version"),
        (("--min-version", "2.0.0", "--max-version", "1.0.0"), 2, "above --max-version"),
        (
            ("--package", "pkg-0001-operator", "--min-version", "99.0.0"),
            4,
            "error: no bundle of package 'pkg-0001-operator' matches --min-version 99.0.0\n",
        ),
    ],
)
def test_filter_errors(
    cli: Callable[..., Run], fbc_dir: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    r = cli("catalog", "bundles", str(fbc_dir), *args)
    assert r.code == code and message in r.stderr and r.stdout == ""


def test_a_named_package_without_a_bundle_in_range_fails_the_pull(
    cli: Callable[..., Run], fbc_dir: Path, tmp_path: Path
) -> None:
    """oc-mirror fails the catalog when a named package's range keeps nothing (catalog-filter
    mirrorFilter.FilterCatalog: "results in an empty channel" / specificBundle: "specific version
    ... not found in bundles"): `pull --from-catalog` refuses before pulling anything."""
    out = tmp_path / "out"
    r = cli(
        "pull", "--from-catalog", str(fbc_dir), "-o", str(out),
        "--package", "pkg-0002-operator", "--min-version", "7.7.7", "--max-version", "7.7.7",
    )  # fmt: skip
    assert r.code == 4, (r.code, r.stderr)
    assert r.stderr.strip().splitlines()[-1] == (
        "bundle-extract: error: no bundle of package 'pkg-0002-operator' has version 7.7.7"
    )
    assert not out.exists() or not any(out.iterdir())


def test_a_broken_catalog_file_is_located(cli: Callable[..., Run], tmp_path: Path) -> None:
    (tmp_path / "c" / "p").mkdir(parents=True)
    (tmp_path / "c" / "p" / "catalog.json").write_text(
        '{"schema":"olm.package","name":"p"}\n{"name":"oops"}\n'
    )
    r = cli("catalog", "packages", str(tmp_path / "c"))
    assert r.code == 6
    assert "p/catalog.json: object 1: missing root schema field" in r.stderr


def test_job_from_catalog_prints_a_valid_indexed_job(cli: Callable[..., Run]) -> None:
    r = cli(
        "job", "--from-catalog", "registry.example.com/ns/catalog:v1", "--shards", "3", "--namespace", "bundles",
        "--image", "registry.example.com/tools/bundle-extract:0.1.0", "--package", "etcd", "--heads-only",
    )  # fmt: skip
    assert r.code == 0, r.stderr
    [job] = list(yaml.safe_load_all(r.stdout))
    validate(job)
    assert_restricted(job)
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 3
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/3"
    assert args[-3:] == ["--package", "etcd", "--heads-only"]


@pytest.mark.parametrize(
    "argv",
    [
        ("job", "some/ref:v1", "--from-catalog", "c:v1", "--shards", "2", "--namespace", "n", "--image", "i"),
        ("job", "--from-catalog", "c:v1", "--namespace", "n", "--image", "i"),
        (
            "job",
            "--from-catalog",
            "c:v1",
            "--shards",
            "2",
            "--namespace",
            "n",
            "--image",
            "i",
            "--min-version",
            "x",
        ),
        ("pull", "some/ref:v1", "--from-catalog", "c:v1", "-o", "out"),
        ("pull", "--from-catalog", "c:v1", "-o", "out", "--all"),
        ("pull", "--from-catalog", "c:v1", "-o", "out", "--shard", "3/3"),
        ("pull", "some/ref:v1", "-o", "out", "--package", "p"),
        ("catalog", "packages", "./no-such-directory"),
        ("catalog", "bundles", "docker://quay.io/x/y:v1"),
    ],
)
def test_usage_errors(cli: Callable[..., Run], argv: tuple[str, ...]) -> None:
    r = cli(*argv)
    assert r.code == 2, (r.code, r.stderr)
    assert r.stderr.startswith("bundle-extract: error:")


def test_unfiltered_catalog_render_equals_render(cli: Callable[..., Run], fbc_dir: Path) -> None:
    """The catalog as opm renders it, whichever command reads it (yaml: the longer way through the
    same writer as json)."""
    fmt = "yaml"
    ours = cli("catalog", "render", str(fbc_dir), "-o", fmt)
    theirs = cli("render", str(fbc_dir), "-o", fmt)
    assert ours.code == 0 and theirs.code == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout and len(ours.stdout) > 10_000


def test_catalog_render_gives_bundles_render_run_treatment(cli: Callable[..., Run], tmp_path: Path) -> None:
    """Render.Run (operator-registry alpha/action/render.go) moves bundle objects last and sorts
    relatedImages by image for every reference: a catalog whose file has neither comes out of
    `catalog render` as out of `render`."""
    (tmp_path / "p").mkdir()
    objs = [
        {"schema": "olm.package", "name": "p", "defaultChannel": "s"},
        {"schema": "olm.channel", "package": "p", "name": "s", "entries": [{"name": "p.v1.0.0"}]},
        {
            "schema": "olm.bundle",
            "package": "p",
            "name": "p.v1.0.0",
            "image": "r.example/p/b:1",
            "properties": [
                {"type": "olm.bundle.object", "value": {"data": "e30="}},
                {"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}},
            ],
            "relatedImages": [
                {"name": "z", "image": "r.example/z:1"},
                {"name": "a", "image": "r.example/a:1"},
            ],
        },
    ]
    (tmp_path / "p" / "c.json").write_text("".join(json.dumps(o) + "\n" for o in objs))
    ours = cli("catalog", "render", str(tmp_path), "-o", "json")
    theirs = cli("render", str(tmp_path), "-o", "json")
    assert ours.code == 0 and theirs.code == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout
    bundle = [json.loads(x) for x in ours.stdout.replace("}\n{", "}\0{").split("\0")][2]
    assert [p["type"] for p in bundle["properties"]] == ["olm.package", "olm.bundle.object"]
    assert [r["name"] for r in bundle["relatedImages"]] == ["a", "z"]


def test_policy_refuses_a_catalog_image(
    cli: Callable[..., Run], registry: Registry, push_image: Callable[..., object], tmp_path: Path
) -> None:
    pushed = push_image(registry, GEN.image_spec(), "catalogs/refused", "v1")
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "reject"}]}')
    r = cli("catalog", "packages", pushed.ref, "--insecure-registry", registry.host, "--policy", str(policy))  # type: ignore[attr-defined]
    assert r.code == 8, r.stderr


def _evil_catalog(tmp_path: Path, evil: str, image: str) -> Path:
    objs = [
        {"schema": "olm.package", "name": "p", "defaultChannel": "stable"},
        {"schema": "olm.channel", "package": "p", "name": "stable", "entries": [{"name": "p.v1" + evil}]},
        {
            "schema": "olm.bundle",
            "package": "p",
            "name": "p.v1" + evil,
            "image": image,
            "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}}],
        },
    ]
    (tmp_path / "c").mkdir(exist_ok=True)
    (tmp_path / "c" / "catalog.json").write_text("".join(json.dumps(o) for o in objs))
    return tmp_path / "c"


def test_catalog_text_reaches_the_terminal_escaped(cli: Callable[..., Run], tmp_path: Path) -> None:
    """Names and images are chosen by whoever wrote the catalog: no control sequence gets through.
    An image that is no reference makes the catalog invalid (opm's ``validateImagePullSpec``); the
    error line shows it escaped."""
    evil = "x\x1b]0;pwned\x07\u202e"
    catalog = _evil_catalog(tmp_path, evil, "r.example/p:v1")
    for what in ("bundles", "channels"):
        r = cli("catalog", what, str(catalog))
        assert r.code == 0, r.stderr
        assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\x07" not in r.stdout
        assert "\\x1b]0;pwned\\x07\\u202e" in r.stdout
    _evil_catalog(tmp_path, evil, "r.example/p:v1" + evil)
    for what in ("bundles", "images", "channels"):
        r = cli("catalog", what, str(catalog))
        assert r.code == 6 and r.stdout == ""
        assert r.stderr.rstrip("\n").isprintable(), r.stderr
        assert "invalid image pull spec" in r.stderr and "pwned" in r.stderr


def test_pull_from_catalog_error_lines_are_escaped(cli: Callable[..., Run], tmp_path: Path) -> None:
    """A catalog-chosen bundle name on every error line (the bundle's, the summary, the last one) is
    escaped, and ``--json`` carries it escaped in the message (a bundle whose registry refuses the
    connection: loopback port 1)."""
    evil = "x\x1b]0;pwned\x07\u202e"
    catalog = _evil_catalog(tmp_path, evil, "127.0.0.1:1/p:v1")
    r = cli("pull", "--from-catalog", str(catalog), "-o", str(tmp_path / "out"))
    assert r.code == 7, r.stderr
    lines = r.stderr.strip().splitlines()
    assert all(line.isprintable() for line in lines), lines
    assert lines[0].startswith("bundle-extract: error: p/p.v1x\\x1b]0;pwned\\x07\\u202e: "), lines
    r = cli("pull", "--from-catalog", str(catalog), "-o", str(tmp_path / "out"), "--json")
    assert r.code == 7, r.stderr
    assert all(x.isprintable() for x in r.stderr.splitlines()), r.stderr
    [line] = [json.loads(x) for x in r.stdout.splitlines()]
    assert line["bundle"] == "p.v1" + evil and line["error"]["exitCode"] == 7


def test_job_from_catalog_carries_the_signature_policy(cli: Callable[..., Run]) -> None:
    r = cli(
        "job", "--from-catalog", "registry.example.com/ns/catalog:v1", "--shards", "2", "--namespace", "bundles",
        "--image", "registry.example.com/tools/bundle-extract:0.1.0", "--policy-configmap", "signature-policy",
        "--registries-d-configmap", "registries-d",
    )  # fmt: skip
    assert r.code == 0, r.stderr
    [job] = list(yaml.safe_load_all(r.stdout))
    validate(job)
    assert_restricted(job)
    pod = job["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--policy") + 1] == "/etc/bundle-extract/policy/policy.json"
    assert args[args.index("--registries-d") + 1] == "/etc/bundle-extract/registries.d"
    mounted = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    by_name = {v["name"]: v for v in pod["volumes"]}
    assert by_name[mounted["/etc/bundle-extract/policy"]]["configMap"]["name"] == "signature-policy"
    assert by_name[mounted["/etc/bundle-extract/registries.d"]]["configMap"]["name"] == "registries-d"
    r = cli(
        "job", "--from-catalog", "registry.example.com/ns/catalog:v1", "--shards", "2", "--namespace", "bundles",
        "--image", "i:1", "--policy", "policy.json",
    )  # fmt: skip
    assert r.code == 2 and "--policy-configmap" in r.stderr, r.stderr


def test_the_pods_command_line_verifies(
    cli: Callable[..., Run], registry: Registry, push_image: Callable[..., object], tmp_path: Path
) -> None:
    """Run the pod's own arguments here (index 0, the volume a local directory): the policy refuses."""
    pushed = push_image(registry, GEN.image_spec(), "catalogs/job-policy", "v1")
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "reject"}]}')
    r = cli(
        "job", "--from-catalog", pushed.ref, "--shards", "2", "--namespace", "bundles",  # type: ignore[attr-defined]
        "--image", "i:1", "--policy", str(policy), "--pull-arg=--insecure-registry",
        f"--pull-arg={registry.host}",
    )  # fmt: skip
    assert r.code == 0, r.stderr
    [job] = list(yaml.safe_load_all(r.stdout))
    args = [
        a.replace("$(JOB_COMPLETION_INDEX)", "0").replace("/output/", f"{tmp_path}/output/")
        for a in job["spec"]["template"]["spec"]["containers"][0]["args"]
    ]
    r = cli(*args)
    assert r.code == 8, r.stderr
    assert not (tmp_path / "output" / "shard-0").exists()


def _on_a_terminal(*args: str, home: Path) -> tuple[int, str]:
    """``bundle-extract ARGS`` with stdout on a pseudo-terminal (120 columns): exit code, output."""
    from tests.e2e.cli import run_on_terminal

    env = {"COLUMNS": "120", "LINES": "50"}
    code, _stderr, seen = run_on_terminal(*args, home=home, terminal="stdout", env=env)
    return code, seen.decode("utf-8", "replace")


def test_plain_output_on_a_terminal_is_a_table(tmp_path: Path, fbc_dir: Path) -> None:
    """The contract: the plain output is a table on a terminal (one item per line only when
    stdout is not one)."""
    home = tmp_path / "home"
    home.mkdir()
    code, out = _on_a_terminal(
        "catalog", "packages", str(fbc_dir), "--package", "pkg-0001-operator", home=home
    )
    assert code == 0, out
    assert "\t" not in out
    assert any(c in out for c in "─━┃│"), out  # box drawing: a rich table
    assert "pkg-0001-operator" in out and GEN.packages["pkg-0001-operator"].default_channel in out


def test_catalog_text_reaches_a_terminal_table_escaped(tmp_path: Path) -> None:
    """The table path too: names chosen by the catalog's author carry no control sequence to the
    terminal (the table's own styling is the only escape sequence written)."""
    evil = "x\x1b]0;pwned\x07\u202e"
    catalog = _evil_catalog(tmp_path, evil, "r.example/p:v1")
    home = tmp_path / "home"
    home.mkdir()
    for what in ("bundles", "channels"):
        code, out = _on_a_terminal("catalog", what, str(catalog), home=home)
        assert code == 0, out
        assert "\x1b]0;" not in out and "\x07" not in out and "\u202e" not in out, repr(out)
        assert "\\x1b]0;pwned\\x07\\u202e" in out and any(c in out for c in "─━┃│"), out

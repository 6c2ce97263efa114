"""The command-line contract (docs/library.md, README): each rule pinned once, against a real registry.

Rules already pinned elsewhere are not repeated here; this file holds the ones an audit of the
contract found unpinned.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.oci import File, ImageSpec
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry

IMAGE_KEYS = {"reference", "resolved", "source", "mediaType", "platform", "kind", "bundle", "layers"}
RESULT_KEYS = IMAGE_KEYS | {"files", "bytes", "output"}


def test_inspect_shows_manifest_annotations(
    cli: Callable[..., Run], registry: object, push_image: Callable[..., PushedImage]
) -> None:
    """``inspect REF``: "resolved digest, source used, platforms, labels, annotations, layers, bundle
    kind": the image manifest's annotations are part of what inspect reports, in JSON and as text."""
    spec = ImageSpec(
        layers=[[File("etc/motd", "hello\n")]],
        labels={"team": "storage"},
        manifest_annotations={
            "org.opencontainers.image.source": "https://git.example.test/storage/widget",
            "org.opencontainers.image.revision": "4f1c2a9",
        },
    )
    img = push_image(registry, spec, "contract/annotated")
    host = img.registry.host
    r = cli("inspect", img.ref, "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["annotations"] == dict(spec.manifest_annotations or {})
    assert doc["labels"] == {"team": "storage"}
    assert IMAGE_KEYS <= set(doc)
    r = cli("inspect", img.ref, "--insecure-registry", host)
    assert r.code == 0, r.stderr
    assert "  org.opencontainers.image.revision=4f1c2a9" in r.stdout.splitlines()

    plain = push_image(registry, ImageSpec(layers=[[File("a", "b")]]), "contract/plain")
    r = cli("inspect", plain.ref, "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["annotations"] == {}


def test_pull_json_carries_every_contract_key(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    """``--json result (pull and inspect)``: every key of the contract's object, with its shape
    (the object may grow; none of these may go)."""
    host = pushed_bundle.registry.host
    out = tmp_path / "out"
    r = cli("pull", pushed_bundle.ref, "-o", str(out), "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    assert RESULT_KEYS <= set(doc)
    assert doc["reference"] == pushed_bundle.ref  # as given
    assert set(doc["resolved"]) == {"registry", "repository", "tag", "digest"}
    assert doc["resolved"]["registry"] == host
    assert doc["resolved"]["repository"] == pushed_bundle.repository
    assert doc["resolved"]["tag"] == "v1.4.2"
    assert doc["resolved"]["digest"] == pushed_bundle.digest
    assert doc["platform"] == "linux/amd64" and doc["kind"] == "registry+v1"
    assert {"package", "channels", "defaultChannel", "manifestsDir", "metadataDir"} <= set(doc["bundle"])
    assert doc["bundle"]["manifestsDir"] == "manifests/" and doc["bundle"]["metadataDir"] == "metadata/"
    assert isinstance(doc["bundle"]["channels"], list)
    layer_keys = {"digest", "size", "mediaType", "fetched"}
    assert doc["layers"] and all(layer_keys <= set(layer) for layer in doc["layers"])
    assert all(layer["fetched"] is True for layer in doc["layers"])  # a cold cache fetched every layer
    assert doc["files"] > 0 and doc["bytes"] == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert doc["output"] == str(out)


def test_tag_pull_asks_a_source_even_when_cached(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    """``Caching``: "Tags are always resolved against a source": with the tag's manifest and every
    blob in the cache, a tag pull whose only source is blocked by registries.conf is refused
    (exit 7, blocked) and leaves nothing at OUT."""
    host = pushed_bundle.registry.host
    r = cli("pull", pushed_bundle.ref, "-o", str(tmp_path / "a"), "--insecure-registry", host)
    assert r.code == 0, r.stderr
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{host}"\nblocked = true\n')
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "b"),
        "--insecure-registry",
        host,
        "--registries-conf",
        str(conf),
    )
    assert r.code == 7, r.stderr
    assert "blocked" in r.stderr and not (tmp_path / "b").exists()


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_exit_4_only_when_every_source_says_not_found(
    cli: Callable[..., Run], registry: object, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """``Exit codes``: 4 "every source tried answered 'not found'"; 7 "no source found it and at least
    one failed at the network level or was blocked by policy". A mirror and a primary that both
    answer 404: exit 4, one line naming both endpoints; the same with the mirror down: exit 7."""
    img = push_image(registry, ImageSpec(layers=[[File("a", "b")]]), "contract/present")
    host = img.registry.host
    missing = f"{host}/contract/absent:v1"
    (tmp_path / "d").mkdir()

    def pull_with_mirror(mirror: str, name: str) -> Run:
        conf = tmp_path / f"{name}.conf"
        conf.write_text(
            f'[[registry]]\nlocation = "{host}/contract"\ninsecure = true\n\n'
            f'[[registry.mirror]]\nlocation = "{mirror}"\ninsecure = true\n'
        )
        args = ("--registries-conf", str(conf), "--registries-conf-dir", str(tmp_path / "d"), "--all")
        return cli("pull", missing, "-o", str(tmp_path / name), *args)

    r = pull_with_mirror(f"{host}/elsewhere", "both404")
    assert r.code == 4, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert f"{host}/elsewhere/absent" in r.stderr and f"{host}/contract/absent" in r.stderr
    dead = _closed_port()
    r = pull_with_mirror(f"{dead}/contract", "mirrordown")
    assert r.code == 7, r.stderr
    assert dead in r.stderr and f"{host}/contract/absent" in r.stderr
    assert not (tmp_path / "both404").exists() and not (tmp_path / "mirrordown").exists()


@pytest.mark.parametrize(
    "destination", ["localhost:1/team/app:v2", f"localhost:1/team/app@sha256:{'a' * 64}"]
)
def test_copy_to_repo_takes_a_repository_only(cli: Callable[..., Run], destination: str) -> None:
    """``copy REF --to-repo REPO``: a repository, "no tag or digest" (imgpkg's ``--to-repo`` is a
    repository name too): one with either is a usage error (exit 2) before any network."""
    r = cli("copy", "localhost:1/team/app:v1", "--to-repo", destination)
    assert r.code == 2, r.stderr
    assert "--to-repo" in r.stderr and "without tag or digest" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def _pull_with_tty_stderr(ref: str, out: Path, home: Path, *extra: str) -> tuple[int, str, bytes]:
    """``bundle-extract pull`` with stdout a pipe and stderr a terminal (a pty), as a user's shell has it."""
    from tests.e2e.cli import run_on_terminal

    env = {"XDG_CACHE_HOME": str(home / ".cache"), "COLUMNS": "120", "LINES": "40"}
    return run_on_terminal("pull", ref, "-o", str(out), *extra, home=home, terminal="stderr", env=env)


def test_progress_only_when_stderr_is_a_terminal(pushed_bundle: PushedImage, tmp_path: Path) -> None:
    """``pull``: "Progress bars only when stderr is a TTY" (the pipe half: test_pull's
    test_quiet_pipe_has_no_progress). On a terminal the bars are drawn on stderr and stdout keeps its
    one summary line; ``-q`` draws nothing even there."""
    home = tmp_path / "home"
    home.mkdir()
    insecure = ("--insecure-registry", pushed_bundle.registry.host)
    code, stdout, tty = _pull_with_tty_stderr(pushed_bundle.ref, tmp_path / "a", home, *insecure)
    assert code == 0, tty
    assert b"total" in tty and b"\x1b[" in tty  # rich's overall task, drawn with terminal controls
    assert "registry+v1" in stdout and len(stdout.strip().splitlines()) == 1
    code, stdout, tty = _pull_with_tty_stderr(pushed_bundle.ref, tmp_path / "b", home, *insecure, "-q")
    assert code == 0, tty
    assert tty == b"" and stdout == ""


def test_digest_pull_from_cache_whatever_the_mirror_policy(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    """``Caching``: "a blob or manifest requested by digest may be served from [the cache] whatever
    the mirror policy says, because its digest is verified". The digest was pulled from the registry
    itself; an IDMS then sends it to a mirror that is down, with ``NeverContactSource``: the pull is
    served from the cache (no layer fetched), identical to the first."""
    host = pushed_bundle.registry.host
    r = cli("pull", pushed_bundle.digest_ref, "-o", str(tmp_path / "a"), "--insecure-registry", host)
    assert r.code == 0, r.stderr
    dead = _closed_port()
    idms = tmp_path / "idms.yaml"
    idms.write_text(
        "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: down\nspec:\n"
        f"  imageDigestMirrors:\n  - source: {host}/regfix\n    mirrors:\n    - {dead}/regfix\n"
        "    mirrorSourcePolicy: NeverContactSource\n"
    )
    (tmp_path / "d").mkdir()
    policy = ("--idms-file", str(idms), "--registries-conf-dir", str(tmp_path / "d"))
    r = cli("mirrors", pushed_bundle.digest_ref, *policy, "--json")
    assert r.code == 0, r.stderr
    assert [s["blocked"] for s in r.json()["sources"]] == [False, True]  # the policy as stated
    r = cli(
        "pull",
        pushed_bundle.digest_ref,
        "-o",
        str(tmp_path / "b"),
        *policy,
        "--insecure-registry",
        dead,
        "--json",
    )
    assert r.code == 0, r.stderr
    assert not any(layer["fetched"] for layer in r.json()["layers"])
    assert (tmp_path / "b" / "metadata" / "annotations.yaml").read_bytes() == (
        tmp_path / "a" / "metadata" / "annotations.yaml"
    ).read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ("inspect", "localhost:1/team/app:v1", "--cache-dir", ""),
        ("inspect", "localhost:1/team/app:v1", "--registries-conf-dir", ""),
        ("mirrors", "localhost:1/team/app:v1", "--cert-dir", ""),
        ("pull", "localhost:1/team/app:v1", "-o", "out", "--authfile", ""),
        ("pull", "localhost:1/team/app:v1", "-o", "out", "--idms-file", ""),
        ("cache", "prune", "--all", "--cache-dir", ""),
    ],
)
def test_empty_path_option_is_a_usage_error(cli: Callable[..., Run], args: tuple[str, ...]) -> None:
    """Exit 2, "usage error (bad flags ...)": an empty path is refused, never read as the current
    directory (where a cache would be written, or pruned, and drop-ins or certificates read)."""
    r = cli(*args)
    assert r.code == 2, r.stderr
    assert f"'{args[-2]}': must not be empty" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_platform_arm_v7_takes_an_older_arm_variant(
    cli: Callable[..., Run], registry: object, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """``--platform os/arch[/variant]``: an index without ``linux/arm/v7`` but with ``linux/arm/v6``
    serves an arm/v7 pull its v6 image, as containerd and containers/image choose; never v8 for v6."""
    specs = [
        ImageSpec(layers=[[File("etc/arch", "amd64\n")]], architecture="amd64"),
        ImageSpec(layers=[[File("etc/arch", "armv6\n")]], architecture="arm", variant="v6"),
        ImageSpec(layers=[[File("etc/arch", "armv8\n")]], architecture="arm", variant="v8"),
    ]
    img = push_image(registry, specs, "contract/arm")
    host = img.registry.host
    out = tmp_path / "out"
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(out),
        "--all",
        "--platform",
        "linux/arm/v7",
        "--insecure-registry",
        host,
        "--json",
    )
    assert r.code == 0, r.stderr
    assert r.json()["platform"] == "linux/arm/v6"
    assert (out / "etc" / "arch").read_text() == "armv6\n"
    r = cli("inspect", img.ref, "--platform", "linux/arm/v5", "--insecure-registry", host)
    assert r.code == 4, r.stderr
    assert "linux/arm/v6" in r.stderr and "linux/arm/v8" in r.stderr

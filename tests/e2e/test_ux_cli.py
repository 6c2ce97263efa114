"""What a skopeo/crane user runs into: error lines that say what to do, output directory edge cases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import REPO, Run

pytestmark = pytest.mark.registry


def _run_in(cwd: Path, home: Path, *args: str) -> Run:
    """The CLI with ``cwd`` as the working directory (``-o .``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "CONTAINERS_", "XDG_"))
    }
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "imgextract", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _one_line(r: Run) -> str:
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert r.stdout == ""
    return lines[0]


def test_plain_http_registry_without_insecure_flag_says_which_flag(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    host = pushed_bundle.registry.host
    r = cli("pull", pushed_bundle.ref, "-o", str(tmp_path / "out"))
    assert r.code == 7
    line = _one_line(r)
    assert (
        f"--insecure-registry {host}" in line and pushed_bundle.ref in line and f"https://{host}/v2/" in line
    )
    assert not (tmp_path / "out").exists()


def test_untrusted_tls_registry_hints_at_ca_file(
    cli: Callable[..., Run], tls_registry: Any, tmp_path: Path
) -> None:
    r = cli("inspect", f"{tls_registry.host}/ux/none:v1")
    assert r.code == 7
    line = _one_line(r)
    assert "certificate verification failed" in line and "--ca-file" in line


def test_connection_refused_is_named(cli: Callable[..., Run], tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("pull", f"127.0.0.1:{port}/ux/x:v1", "-o", str(tmp_path / "out"))
    assert r.code == 7
    assert "connection refused" in _one_line(r)


@pytest.mark.parametrize("form", ["http://{host}", "{host}/", "https://{host}/"])
def test_insecure_registry_tolerates_scheme_and_slash(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path, form: str
) -> None:
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "out"),
        "-q",
        "--insecure-registry",
        form.format(host=pushed_bundle.registry.host),
    )
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "manifests").is_dir()


def test_insecure_registry_with_a_path_is_a_usage_error(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "out"),
        "--insecure-registry",
        f"{pushed_bundle.registry.host}/regfix",
    )
    assert r.code == 2
    assert "HOST[:PORT]" in _one_line(r)


def test_json_with_configmap_on_stdout_is_refused(
    cli: Callable[..., Run], pushed_bundle: PushedImage
) -> None:
    r = cli(
        "pull",
        pushed_bundle.ref,
        "--format",
        "configmap",
        "-o",
        "-",
        "--json",
        "--insecure-registry",
        pushed_bundle.registry.host,
    )
    assert r.code == 2
    assert "--json" in _one_line(r)


def test_auth_failure_says_which_flags(
    cli: Callable[..., Run], htpasswd_registry: Any, tmp_path: Path
) -> None:
    host = htpasswd_registry.host
    r = cli("pull", f"{host}/ux/private:v1", "-o", str(tmp_path / "out"), "--insecure-registry", host)
    assert r.code == 3
    line = _one_line(r)
    assert "--creds" in line and "--authfile" in line
    assert not (tmp_path / "out").exists()


def test_platform_not_in_index_lists_platforms_and_flag(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage]
) -> None:
    img = pushed_fixtures["multi-arch"]
    r = cli("inspect", img.ref, "--platform", "linux/ppc64le", "--insecure-registry", img.registry.host)
    assert r.code == 4
    line = _one_line(r)
    assert "linux/amd64" in line and "linux/arm64/v8" in line and "--platform" in line


def test_pull_into_the_empty_current_directory(pushed_bundle: PushedImage, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    r = _run_in(
        work, home, "pull", pushed_bundle.ref, "-o", ".", "--insecure-registry", pushed_bundle.registry.host
    )
    assert r.code == 0, r.stderr
    assert sorted(p.name for p in work.iterdir()) == ["manifests", "metadata"]  # no staging left inside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "work"]  # nor beside


def test_force_never_replaces_the_current_directory(pushed_bundle: PushedImage, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    (work / "sub").mkdir(parents=True)
    (work / "keep").write_text("mine")
    for out, cwd in ((".", work), ("..", work / "sub")):
        r = _run_in(
            cwd,
            home,
            "pull",
            pushed_bundle.ref,
            "-o",
            out,
            "--force",
            "--insecure-registry",
            pushed_bundle.registry.host,
        )
        assert r.code == 2, r.stderr
        assert "current directory" in _one_line(r)
    assert sorted(p.name for p in work.iterdir()) == ["keep", "sub"]
    assert list((work / "sub").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "work"]


def test_failed_pull_into_an_existing_empty_dir_leaves_it_empty(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["mismatched-labels"]
    out = tmp_path / "out"
    out.mkdir()
    r = cli("pull", img.ref, "-o", str(out), "--insecure-registry", img.registry.host)
    assert r.code == 6
    _one_line(r)
    assert list(out.iterdir()) == []


def test_non_empty_output_is_refused_before_any_network(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    r = cli("pull", "127.0.0.1:1/ux/x:v1", "-o", str(out))  # nothing listens there: would be exit 7
    assert r.code == 2
    assert "--force" in _one_line(r)
    assert [p.name for p in out.iterdir()] == ["x"]


@pytest.mark.parametrize(
    "args",
    [
        ("pull", "--bogus", "x", "-o", "y"),
        ("pull",),
        ("copy", "x"),
        ("pull", "x", "-o", "y", "--format", "zip"),
        ("nosuch",),
        ("cache", "prune", "--foo"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(cli: Callable[..., Run], args: tuple[str, ...]) -> None:
    r = cli(*args)
    assert r.code == 2
    line = _one_line(r)
    assert line.startswith("bundle-extract: error: ") and "--help" in line


def test_bare_group_still_shows_its_help(cli: Callable[..., Run]) -> None:
    r = cli("cache")
    assert "prune" in r.stderr + r.stdout and "Usage:" in r.stderr + r.stdout


_COMMON = [
    "--insecure-registry",
    "--ca-file",
    "--cert-dir",
    "--authfile",
    "--pull-secret",
    "--creds",
    "--icsp-file",
    "--idms-file",
    "--itms-file",
    "--registries-conf",
    "--registries-conf-dir",
    "--platform",
    "--json",
    "--quiet",
    "--verbose",
]


@pytest.mark.parametrize(
    ("command", "own"),
    [
        (
            "pull",
            [
                "--output",
                "--path",
                "--all",
                "--force",
                "--format",
                "--configmap-name",
                "--namespace",
                "--compress",
                "--cache-dir",
                "--no-cache",
            ],
        ),
        ("inspect", []),
        ("copy", ["--to-repo", "--lock-output", "--concurrency"]),
        ("mirrors", []),
    ],
)
def test_help_lists_every_option_of_cli_md(cli: Callable[..., Run], command: str, own: list[str]) -> None:
    r = cli(command, "--help")
    assert r.code == 0
    missing = [opt for opt in own + _COMMON if f"{opt} " not in r.stdout and f"{opt}\n" not in r.stdout]
    assert missing == []


def test_blocked_registry_names_the_rule(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    host = pushed_bundle.registry.host
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{host}/regfix"\nblocked = true\n')
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "out"),
        "--registries-conf",
        str(conf),
        "--insecure-registry",
        host,
    )
    assert r.code == 7
    line = _one_line(r)
    assert str(conf) in line and "mirrors" in line
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def big_image(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    """One uncompressed 128 MiB layer: a pull takes long enough to be interrupted."""
    from regfix.oci import File, ImageSpec, Layer, write_layout
    from regfix.push import push

    spec = ImageSpec(layers=[Layer([File("big.bin", os.urandom(128 << 20))], compression="none")])
    layout = write_layout(tmp_path_factory.mktemp("ux-big"), spec, "v1")
    return PushedImage(push(layout, registry, "ux/big", "v1"), layout, None, registry)


@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGINT, 130, "aborted"), (signal.SIGTERM, 143, "terminated")]
)
@pytest.mark.parametrize("delay", [0.0, 0.03, 0.15])
def test_signal_mid_pull_leaves_nothing(
    big_image: PushedImage, tmp_path: Path, sig: int, code: int, word: str, delay: float
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_AUTH_FILE", "DOCKER_", "XDG_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imgextract",
            "pull",
            big_image.ref,
            "-o",
            str(work / "out"),
            "--all",
            "--no-cache",
            "--insecure-registry",
            big_image.registry.host,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(work.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # the staging directory appears beside OUT once the manifest is resolved
    time.sleep(delay)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    # 128+N from our handler, or death by the signal itself when CPython re-delivers it while exiting
    # (it does so when the interpreter ends on a KeyboardInterrupt): both tell the shell "interrupted".
    assert proc.returncode in (code, -sig), err
    assert out == "" and err.strip() == f"bundle-extract: {word}"
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("command", [("pull", "-o", "out"), ("inspect",), ("mirrors",)])
def test_skopeo_transport_prefix_gets_a_suggestion(cli: Callable[..., Run], command: tuple[str, ...]) -> None:
    r = cli(command[0], "docker://quay.io/ns/bundle:v1", *command[1:])
    assert r.code == 2
    assert "use quay.io/ns/bundle:v1" in _one_line(r)


def test_malformed_reference_is_shown_as_given(cli: Callable[..., Run]) -> None:
    r = cli("inspect", "busybox:bad tag")
    assert r.code == 2
    assert "(reference busybox:bad tag)" in _one_line(r)


def test_empty_output_is_a_usage_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    r = cli("pull", "127.0.0.1:1/ux/x:v1", "-o", "")
    assert r.code == 2
    assert "--output" in _one_line(r)


@pytest.mark.parametrize("extra", [(), ("--from-catalog", "127.0.0.1:1/ux/catalog:v1")])
def test_stdout_as_output_needs_configmap_format(
    cli: Callable[..., Run], tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """``-o -`` means stdout (as for ``--format configmap``); a directory pull does not quietly create
    a directory named ``-`` in the current directory."""
    ref = () if extra else ("127.0.0.1:1/ux/x:v1",)
    r = _run_in(tmp_path, tmp_path / "home", "pull", *ref, *extra, "-o", "-")
    assert r.code == 2  # before any network (nothing listens at 127.0.0.1:1)
    line = _one_line(r)
    assert "-o -" in line and "--format configmap" in line and "./-" in line
    assert not (tmp_path / "-").exists()


def test_configmap_output_to_a_directory_or_missing_parent_is_a_usage_error(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "adir").mkdir()
    for out, word in (
        (tmp_path / "adir", "is a directory"),
        (tmp_path / "nodir" / "cm.yaml", "does not exist"),
    ):
        r = cli("pull", "127.0.0.1:1/ux/x:v1", "--format", "configmap", "-o", str(out), "--force")
        assert r.code == 2  # before any network (nothing listens at 127.0.0.1:1), not an internal error
        assert word in _one_line(r)
    assert list((tmp_path / "adir").iterdir()) == [] and not (tmp_path / "nodir").exists()


def test_copy_lock_output_in_a_missing_directory_fails_before_copying(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    r = cli(
        "copy",
        "127.0.0.1:1/ux/b:v1",
        "--to-repo",
        "127.0.0.1:1/ux/c",
        "--lock-output",
        str(tmp_path / "nodir" / "lock.yml"),
    )
    assert r.code == 2  # not 7 from the unreachable source, nor a crash after the copy
    assert "--lock-output" in _one_line(r)


def test_platform_mismatch_on_single_platform_image_warns(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    host = pushed_bundle.registry.host
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "a"),
        "--insecure-registry",
        host,
        "--platform",
        "linux/s390x",
    )
    assert r.code == 0, r.stderr
    assert "does not match the requested platform (linux/s390x)" in r.stderr
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "b"),
        "--insecure-registry",
        host,
        "--platform",
        "linux/s390x",
        "-q",
    )
    assert r.code == 0 and r.stderr == ""


@pytest.mark.parametrize(
    "flags",
    [
        ["--package", "etcd"],
        ["--channel", "stable"],
        ["--min-version", "1.0.0"],
        ["--heads-only"],
        ["--all-bundles"],
    ],
)
def test_catalog_filters_without_from_catalog_are_a_usage_error(
    cli: Callable[..., Run], tmp_path: Path, flags: list[str]
) -> None:
    # refused before any network: the registry named here does not exist
    r = cli("pull", "127.0.0.1:9/ux/x:v1", "-o", str(tmp_path / "out"), *flags)
    assert r.code == 2
    assert "need --from-catalog" in _one_line(r)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", ["./no-such-dir", "../no-such-dir", "/no-such-dir/bundle"])
def test_render_of_a_missing_directory_names_the_directory(cli: Callable[..., Run], path: str) -> None:
    """A REF spelled as a path is a directory that is not there, as ``catalog`` says, not an
    "invalid reference format"."""
    r = cli("render", path)
    assert r.code == 2
    line = _one_line(r)
    assert path in line and "no such directory" in line and "invalid reference" not in line


def test_unlabelled_image_error_names_every_way_out(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """An image whose labels name no kind: the hint names --kind too (the remedy for a bundle built
    without labels, and the only one that applies to --format configmap), as troubleshooting.md says."""
    from regfix import bundles

    img = push_image(registry, bundles.generic_multilayer(), "ux/unlabelled", "v1")
    for extra in ((), ("--format", "configmap")):
        out = tmp_path / ("cm.yaml" if extra else "out")
        r = cli("pull", img.ref, "-o", str(out), "--insecure-registry", registry.host, *extra)
        assert r.code == 2
        line = _one_line(r)
        assert "--kind" in line and "--path P or --all" in line
        assert not out.exists()


def test_verbose_says_which_source_failed_before_the_one_that_served(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    """``-v`` shows what was tried (troubleshooting.md): a mirror that fails before the primary
    serves the pull is named with its error; without ``-v`` the successful pull stays quiet."""
    host = pushed_bundle.registry.host
    repository = pushed_bundle.ref.rsplit(":", 1)[0]
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nprefix = "{repository}"\nlocation = "{repository}"\n'
        '[[registry.mirror]]\nlocation = "127.0.0.1:1/mirror/bundle"\ninsecure = true\n'
    )
    args = (
        "pull",
        pushed_bundle.ref,
        "--insecure-registry",
        host,
        "--registries-conf",
        str(conf),
        "--no-cache",
    )
    r = cli(*args, "-o", str(tmp_path / "a"), "-v")
    assert r.code == 0, r.stderr
    tried = [line for line in r.stderr.splitlines() if "127.0.0.1:1/mirror/bundle" in line]
    assert len(tried) == 1 and tried[0].startswith("INFO: ") and "trying the next source" in tried[0], (
        r.stderr
    )
    quiet = cli(*args, "-o", str(tmp_path / "b"))
    assert quiet.code == 0 and "127.0.0.1:1" not in quiet.stderr

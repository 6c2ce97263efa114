"""The public API in-process, against a real docker-registry: only ``import imgextract`` is used.

A ``Client`` reuses one connection pool per registry (one ``/v2/`` ping for many pulls, counted in
the registry's access log), the one-shot functions work, nothing is printed, and results serialise
to exactly the objects the command line prints with ``--json`` for the same image.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from regfix.pytest_plugin import PushedImage
from regfix.registry import Registry

import imgextract
from tests.e2e.cli import run_cli

pytestmark = pytest.mark.registry

_REQUEST = re.compile(
    r'http\.request\.method=(\w+) http\.request\.remoteaddr="([^"]+)" http\.request\.uri=(\S+) '
    r"http\.request\.useragent=(\S+)"
)


def _requests(reg: Registry, user_agent: str) -> list[tuple[str, str, str]]:
    """(method, client address, uri) of every request this test's client made (by its user agent)."""
    return [(m, addr, uri) for m, addr, uri, ua in _REQUEST.findall(reg.logs()) if ua == user_agent]


def _pings(requests: list[tuple[str, str, str]]) -> int:
    return sum(1 for method, _addr, uri in requests if method == "GET" and uri == "/v2/")


def test_five_pulls_through_one_client_ping_once_and_reuse_connections(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    img = pushed_fixtures["registry-v1"]
    agent = "library-api-test/reuse"
    with imgextract.Client(
        insecure_registries=[img.registry.host],
        use_cache=False,
        user_agent=agent,
        env={"HOME": str(tmp_path)},
    ) as client:
        results = [client.pull(img.ref, tmp_path / f"out{i}") for i in range(5)]
    assert [r.digest for r in results] == [img.digest] * 5
    assert all(layer.fetched for r in results for layer in r.layers)
    requests = _requests(img.registry, agent)
    blob_gets = [uri for method, _a, uri in requests if method == "GET" and "/blobs/" in uri]
    assert len(blob_gets) >= 5 * 2  # every pull fetched its config and layers again (no cache)
    assert _pings(requests) == 1
    connections = {addr for _m, addr, _u in requests}
    # reused: fewer connections than pulls, at most the prefetcher's parallel downloads plus one
    assert len(connections) < len(results), f"{len(connections)} connections for {len(requests)} requests"
    assert len(connections) <= 1 + len(results[0].layers)
    assert capfd.readouterr() == ("", "")


def test_one_shot_functions_each_use_a_fresh_client(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    img = pushed_fixtures["registry-v1"]
    agent = "library-api-test/one-shot"
    options: imgextract.ClientOptions = {
        "insecure_registries": [img.registry.host],
        "user_agent": agent,
        "cache_dir": tmp_path / "cache",
        "env": {"HOME": str(tmp_path)},
    }
    result = imgextract.pull(img.ref, tmp_path / "out", **options)
    assert isinstance(result, imgextract.PullResult)
    assert result.kind == "registry+v1" and result.digest == img.digest
    assert result.files > 0 and (tmp_path / "out" / "manifests").is_dir()
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and not p.is_symlink()]
    assert (result.files, result.bytes) == (len(written), sum(p.stat().st_size for p in written))
    info = imgextract.inspect(img.ref, **options)
    assert isinstance(info, imgextract.InspectResult) and info.digest == img.digest
    assert _pings(_requests(img.registry, agent)) == 2
    mirrors = imgextract.explain_mirrors(img.ref, **options)
    assert [str(s.reference) for s in mirrors.sources] == [img.ref]
    assert capfd.readouterr() == ("", "")


def _cli_json(*args: str, home: Path) -> dict[str, object]:
    run = run_cli(*args, "--json", home=home)
    assert run.code == 0, run.stderr
    doc = run.json()
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize("name", ["registry-v1", "plain-v0", "fbc", "multi-arch"])
def test_results_serialise_to_the_cli_json(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path, name: str
) -> None:
    img = pushed_fixtures[name]
    host = img.registry.host
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / "lib-cache")}
    platform = ["--platform", "linux/arm64"] if name == "multi-arch" else []
    with imgextract.Client(insecure_registries=[host], env=env, platform=_platform(platform)) as client:
        pulled = client.pull(img.ref, tmp_path / "lib")
        inspected = client.inspect(img.ref)
        explained = client.explain_mirrors(img.ref)
    cli_pull = _cli_json(
        "pull", img.ref, "-o", str(tmp_path / "cli"), "--insecure-registry", host, *platform, home=home
    )
    assert {**pulled.to_json(), "output": None} == {**cli_pull, "output": None}
    assert pulled.to_json()["output"] == str(tmp_path / "lib")
    cli_inspect = _cli_json("inspect", img.ref, "--insecure-registry", host, *platform, home=home)
    assert inspected.to_json() == cli_inspect
    assert explained.to_json() == _cli_json("mirrors", img.ref, "--insecure-registry", host, home=home)


def _platform(args: list[str]) -> str | None:
    return args[1] if args else None


def test_configmaps_come_back_as_objects(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    img = pushed_fixtures["registry-v1"]
    host = img.registry.host
    result = imgextract.pull(
        img.ref, None, format="configmap", insecure_registries=[host], env={"HOME": str(tmp_path)}
    )
    assert capfd.readouterr() == ("", "")
    assert result.output is None and result.configmaps
    assert {cm["kind"] for cm in result.configmaps} == {"ConfigMap"}
    text = imgextract.dump_yaml(list(result.configmaps))
    assert list(yaml.safe_load_all(text)) == list(result.configmaps)
    home = tmp_path / "home"
    home.mkdir()
    run = run_cli("pull", img.ref, "-o", "-", "--format", "configmap", "--insecure-registry", host, home=home)
    assert run.code == 0, run.stderr
    assert run.stdout == text


def test_library_errors_speak_library_options_and_the_cli_speaks_flags(
    pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["registry-v1"]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("x")
    with pytest.raises(imgextract.UsageError) as exc:
        imgextract.pull(img.ref, out, insecure_registries=[img.registry.host])
    assert "use force to replace it" in str(exc.value) and "--" not in str(exc.value)
    run = run_cli("pull", img.ref, "-o", str(out), "--insecure-registry", img.registry.host, home=tmp_path)
    assert run.code == 2 and "use --force to replace it" in run.stderr
    with pytest.raises(imgextract.UnreachableError) as unreachable:
        imgextract.inspect(
            img.ref, retries=0, env={"HOME": str(tmp_path)}
        )  # plain HTTP, not declared insecure
    assert isinstance(unreachable.value, imgextract.SourceError)
    assert f"add {img.registry.host} to insecure_registries" in str(unreachable.value)
    run = run_cli("inspect", img.ref, home=tmp_path)
    assert run.code == 7 and f"pass --insecure-registry {img.registry.host}" in run.stderr


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("http://localhost:5000/", "localhost:5000"), ("https://reg.example", "reg.example"), (" h:1 ", "h:1")],
)
def test_insecure_registries_are_normalised_where_settings_are_built(given: str, normalised: str) -> None:
    with imgextract.Client(insecure_registries=[given]) as client:
        assert client.settings.transport.insecure_registries == frozenset({normalised})


def test_bad_settings_fail_the_same_for_library_and_cli(tmp_path: Path) -> None:
    with pytest.raises(
        imgextract.UsageError, match=r"insecure_registries 'localhost:5000/ns': expected HOST"
    ):
        imgextract.Client(insecure_registries=["localhost:5000/ns"])
    with pytest.raises(imgextract.UsageError, match="invalid platform"):
        imgextract.Client(platform="linux/&arm")  # (containerd TestParseSelectorInvalid)
    with pytest.raises(imgextract.UsageError, match="unknown option"):
        imgextract.Client(insecure_registry=["x"])  # type: ignore[call-arg]  # mypy sees it too
    run = run_cli("mirrors", "busybox", "--insecure-registry", "localhost:5000/ns", home=tmp_path)
    assert run.code == 2
    assert "--insecure-registry 'localhost:5000/ns': expected HOST[:PORT]" in run.stderr

"""A pull loads only what it uses: start-up is part of every command's time.

The command runs as users run it, with Python's own import log (``PYTHONPROFILEIMPORTTIME``, the
``-X importtime`` switch) naming every module the process imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry

NEVER_FOR_A_PULL = (
    # other commands and their libraries
    "imgextract.cli.cache",
    "imgextract.cli.catalog",
    "imgextract.cli.copy",
    "imgextract.cli.inspect",
    "imgextract.cli.job",
    "imgextract.cli.mirrors",
    "imgextract.cli.render",
    "imgextract.cli.verify",
    "imgextract.catalog",
    "imgextract.rendering",
    "imgextract.outputs.configmap",
    "imgextract.outputs.kube",
    "imgextract.imgpkg",
    # the results of other operations (a frozen dataclass costs ~1 ms to create)
    "imgextract.results.copy",
    "imgextract.results.mirrors",
    "semver",
    "imgextract.catalog.indexignore",
    # signatures: only with --policy
    "imgextract.signatures",
    "cryptography",
    "pysequoia",
    # progress bars: only on a terminal
    "rich",
    # configuration that is not there: credential helpers, pull secrets, imgpkg's IMGPKG_REGISTRY_*
    # variables, ICSP/IDMS/ITMS files; and a registry that asks for no authentication
    "imgextract.auth.helpers",
    "imgextract.auth.pullsecret",
    "imgextract.auth.envcreds",
    "imgextract.auth.keyring",
    "imgextract.auth.challenge",
    "imgextract.registry.bearer",
    "subprocess",
    "imgextract.mirrors.policies",
    "imgextract.mirrors.convert",
    # gzip layers of a single-platform image: no zstd:chunked, no dual-compression index
    "imgextract.layers.chunked",
    "imgextract.pull.partial",
    "imgextract.pull.variants",
    "imgextract.registry.ranges",
    "zstandard",
    # temporary names come from os.urandom; tempfile (and random) only when a layer is spooled
    "secrets",
    # the product speaks HTTP/1.1 itself (registry.wire): no http.client, whose answers went
    # through the email package; a plain-HTTP registry needs no trust store (the https probe of
    # an insecure registry does not verify)
    "requests",
    "urllib3",
    "http.client",
    "email",
    "certifi",
    # an ASCII host name needs no IDNA codec (nor the Unicode tables it loads)
    "encodings.idna",
    "stringprep",
    "unicodedata",
    # worker processes are not ours to start
    "multiprocessing",
    "concurrent.futures.process",
)


_ACCESS = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" \d+ \S+ "[^"]*" "bundle-extract/[^"]*"')


def imported_modules(stderr: str) -> set[str]:
    """Module names from Python's import log (``import time: self | cumulative | name``)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def loaded_of(loaded: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages)}


def pull_logging_imports(cli: Callable[..., Run], image: PushedImage, out: Path, *flags: str) -> set[str]:
    r = cli(
        "pull",
        image.ref,
        "-o",
        str(out),
        "--insecure-registry",
        image.registry.host,
        "-q",
        "--cache-dir",
        str(out.parent / "cache"),
        *flags,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert r.code == 0, r.stderr[-2000:]
    loaded = imported_modules(r.stderr)
    assert {
        "imgextract.cli.pull",
        "imgextract.registry.wire",
        "imgextract.layers.applier",
    } <= loaded  # the log is read
    return loaded


def test_registry_v1_pull_loads_only_what_a_bundle_needs(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    image = pushed_fixtures["registry-v1"]
    out = tmp_path / "out"
    log_offset = len(image.registry.logs())
    loaded = pull_logging_imports(cli, image, out)
    assert sorted(p.name for p in out.iterdir()) == ["manifests", "metadata"]
    # one ping, the manifest, the config and each layer once: no HEAD first, no second ping
    repo = f"/v2/{image.pushed.repository}"
    built = image.layout.image
    assert sorted(_ACCESS.findall(image.registry.logs()[log_offset:])) == sorted(
        [
            ("GET", "/v2/"),
            ("GET", f"{repo}/manifests/{image.pushed.tag}"),
            ("GET", f"{repo}/blobs/{built.config_digest}"),
            *(("GET", f"{repo}/blobs/{layer.digest}") for layer in built.layers),
        ]
    )
    assert loaded_of(loaded, NEVER_FOR_A_PULL) == set()
    # metadata/annotations.yaml is read (the bundle's metadata directory is recognised), in its common
    # flat form without PyYAML
    assert "imgextract.bundles.annotations" in loaded
    assert "yaml" not in loaded


def test_plain_image_pull_needs_no_yaml(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    loaded = pull_logging_imports(cli, pushed_fixtures["generic"], out, "--all")
    assert any(out.iterdir())
    assert loaded_of(loaded, (*NEVER_FOR_A_PULL, "yaml", "imgextract.bundles.annotations")) == set()


def test_flat_registries_conf_is_read_without_tomllib(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    conf, drop_ins = tmp_path / "registries.conf", tmp_path / "registries.conf.d"
    conf.write_text('# unqualified-search-registries = ["example.com"]\n')
    drop_ins.mkdir()
    (drop_ins / "shortnames.conf").write_text(
        '[aliases]\n  # docker\n  "alpine" = "docker.io/library/alpine"\n'
    )
    flags = ("--all", "--registries-conf", str(conf), "--registries-conf-dir", str(drop_ins))
    loaded = pull_logging_imports(cli, pushed_fixtures["generic"], tmp_path / "flat", *flags)
    assert "imgextract.mirrors.conf_file" in loaded  # the files are read and validated
    assert "tomllib" not in loaded
    # any other TOML goes through tomllib
    conf.write_text('unqualified-search-registries = ["example.com"]\n')
    loaded = pull_logging_imports(cli, pushed_fixtures["generic"], tmp_path / "toml", *flags)
    assert "tomllib" in loaded

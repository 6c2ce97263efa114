"""Generate file-based operator catalogs for tests and benchmarks (deterministic for a seed).

    gen = generate(packages=300, seed=7)
    gen.write(tmp / "configs")                 # JSON streams, YAML documents, split files, .indexignore
    gen.image_spec()                            # an OCI catalog image: /configs + the index.configs label

Every package has 2-4 channels over one version list; chains mix plain ``replaces``, ``skips`` (the
replaced entry jumps over the skipped one) and ``skipRange`` heads that replace nothing. The
generator records the ground truth (each channel's members in version order, its head, each
bundle's images) so tests can compute expected answers without the product's code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from regfix.oci import Dir, File, ImageSpec, Layer

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
CHANNEL_NAMES = ("alpha", "candidate", "fast", "stable", "stable-v2")


def vkey(version: str) -> tuple[int, int, int, int, int]:
    """Sort key of the versions this generator writes (X.Y.Z or X.Y.Z-rc.N): rc before release."""
    core, _, pre = version.partition("-")
    x, y, z = (int(p) for p in core.split("."))
    return (x, y, z, 0, int(pre.split(".")[1])) if pre else (x, y, z, 1, 0)


@dataclass
class GenBundle:
    package: str
    name: str
    version: str
    image: str
    related: list[tuple[str, str]]

    def images(self) -> set[str]:
        return {img for _, img in self.related} | {self.image}


@dataclass
class GenChannel:
    package: str
    name: str
    members: list[str]  # bundle names in version order; the last one is the head
    entries: list[dict[str, object]]

    @property
    def head(self) -> str:
        return self.members[-1]


@dataclass
class GenPackage:
    name: str
    default_channel: str
    channels: dict[str, GenChannel]
    bundles: dict[str, GenBundle]


@dataclass
class GeneratedCatalog:
    packages: dict[str, GenPackage] = field(default_factory=dict)
    pad_bytes: int = 0
    seed: int = 0

    def bundles(self) -> list[GenBundle]:
        return [b for p in self.packages.values() for b in p.bundles.values()]

    def documents(self, pkg: GenPackage) -> list[dict[str, object]]:
        docs: list[dict[str, object]] = [
            {"schema": "olm.package", "name": pkg.name, "defaultChannel": pkg.default_channel}
        ]
        for ch in pkg.channels.values():
            docs.append(
                {"schema": "olm.channel", "package": pkg.name, "name": ch.name, "entries": ch.entries}
            )
        rng = random.Random(f"{self.seed}/{pkg.name}")
        for b in pkg.bundles.values():
            props: list[dict[str, object]] = [
                {"type": "olm.package", "value": {"packageName": pkg.name, "version": b.version}},
                {
                    "type": "olm.gvk",
                    "value": {"group": f"{pkg.name}.example.test", "kind": "Thing", "version": "v1"},
                },
            ]
            if self.pad_bytes:
                blob = rng.randbytes(self.pad_bytes * 3 // 4)
                props.append(
                    {"type": "olm.bundle.object", "value": {"data": base64.b64encode(blob).decode()}}
                )
            docs.append(
                {
                    "schema": "olm.bundle",
                    "name": b.name,
                    "package": pkg.name,
                    "image": b.image,
                    "properties": props,
                    "relatedImages": [{"name": n, "image": i} for n, i in b.related],
                }
            )
        return docs

    def write(self, root: Path) -> Path:
        """Write the catalog under ``root`` in three layouts (by package index) plus ignored junk."""
        root.mkdir(parents=True, exist_ok=True)
        (root / ".indexignore").write_text("*.md\n/notes/\n")
        (root / "README.md").write_text("{ this is not a catalog file")
        (root / "notes").mkdir(exist_ok=True)
        (root / "notes" / "todo.txt").write_text("[ nor this")
        for i, pkg in enumerate(self.packages.values()):
            d = root / pkg.name
            d.mkdir(exist_ok=True)
            docs = self.documents(pkg)
            if i % 3 == 0:
                with open(d / "catalog.yaml", "w") as f:
                    yaml.dump_all(
                        docs, f, Dumper=yaml.CSafeDumper, explicit_start=True, sort_keys=True, width=1 << 20
                    )
            elif i % 3 == 1:
                with open(d / "catalog.json", "w") as f:
                    for doc in docs:
                        f.write(json.dumps(doc, indent=4) + "\n")
            else:
                head = [x for x in docs if x["schema"] != "olm.bundle"]
                (d / "package.json").write_text("".join(json.dumps(x) for x in head))
                (d / "bundles").mkdir(exist_ok=True)
                for x in docs:
                    if x["schema"] == "olm.bundle":
                        (d / "bundles" / f"{x['name']}.json").write_text(json.dumps(x) + "\n")
        return root

    def layer_entries(self, configs: str = "configs") -> list:
        """Tar entries of the catalog under ``configs/`` (for an image layer)."""
        import tempfile

        entries: list = [Dir(configs)]
        with tempfile.TemporaryDirectory() as tmp:
            root = self.write(Path(tmp) / "c")
            for p in sorted(root.rglob("*")):
                rel = f"{configs}/{p.relative_to(root).as_posix()}"
                entries.append(Dir(rel) if p.is_dir() else File(rel, p.read_bytes()))
        return entries

    def image_spec(self, configs: str = "configs") -> ImageSpec:
        return ImageSpec(layers=[Layer(self.layer_entries(configs))], labels={CONFIGS_LABEL: f"/{configs}"})


def _versions(rng: random.Random, count: int) -> list[str]:
    x, y, z = rng.randint(0, 3), rng.randint(0, 5), 0
    out = []
    while len(out) < count:
        if rng.random() < 0.15 and len(out) < count - 1:
            out.append(f"{x}.{y}.{z}-rc.{rng.randint(0, 3)}")
        out.append(f"{x}.{y}.{z}")
        if rng.random() < 0.3:
            y, z = y + 1, 0
        else:
            z += 1
    return out[:count]


def _chain(
    rng: random.Random, names: list[str], versions: dict[str, str], style: str
) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for i, n in enumerate(names):
        e: dict[str, object] = {"name": n}
        if i == 0:
            if rng.random() < 0.3:
                e["replaces"] = n.replace(
                    ".v", ".v0-old-"
                )  # the tail may replace a bundle not in the catalog
        elif style == "skips" and i >= 2:
            e["replaces"] = names[i - 2]
            e["skips"] = [names[i - 1]]
        elif style == "skips":
            # the first replaced entry is skipped too: opm's validateReplacesChain stops at a replaces
            # edge to a skipped entry, and an entry below it that nothing skips would be stranded
            e["replaces"] = names[0]
            e["skips"] = [names[0]]
        else:
            e["replaces"] = names[i - 1]
        entries.append(e)
    if style == "skiprange" and len(names) > 1:
        head = entries[-1]
        head.pop("replaces", None)
        head["skipRange"] = f">={versions[names[0]]} <{versions[names[-1]]}"
    elif rng.random() < 0.3 and len(names) > 1:
        entries[-1]["skipRange"] = f"<{versions[names[-1]]}"
    rng.shuffle(entries)  # order in the file carries no meaning
    return entries


def generate(
    packages: int = 300,
    *,
    seed: int = 1,
    image: Callable[[str, str], str] | None = None,
    bundles_per_package: tuple[int, int] = (3, 7),
    pad_bytes: int = 0,
) -> GeneratedCatalog:
    """A catalog of ``packages`` packages. ``image(package, version)`` names bundle images (default:
    quay.example.test/gen/<pkg>-bundle:v<version>); ``pad_bytes`` adds an olm.bundle.object property
    of about that many bytes to each bundle (to reach real catalog sizes)."""
    rng = random.Random(seed)
    image = image or (lambda p, v: f"quay.example.test/gen/{p}-bundle:v{v}")
    shared = [
        f"quay.example.test/shared/kube-rbac-proxy@sha256:{hashlib.sha256(str(i).encode()).hexdigest()}"
        for i in range(3)
    ]
    gen = GeneratedCatalog(pad_bytes=pad_bytes, seed=seed)
    for i in range(packages):
        pname = f"pkg-{i:04d}-operator"
        versions = _versions(rng, rng.randint(*bundles_per_package))
        bundles: dict[str, GenBundle] = {}
        for v in versions:
            name = f"{pname}.v{v}"
            op = f"quay.example.test/gen/{pname}@sha256:{hashlib.sha256(name.encode()).hexdigest()}"
            bimg = image(pname, v)
            related = [("", bimg), ("operator", op), ("proxy", rng.choice(shared))]
            bundles[name] = GenBundle(pname, name, v, bimg, related)
        names = list(bundles)
        n = len(names)
        chan_names = sorted(rng.sample(CHANNEL_NAMES, rng.randint(2, 4)))
        channels: dict[str, GenChannel] = {}
        for j, cname in enumerate(chan_names):
            if j == 0:
                members = names  # one channel holds everything: no bundle without a channel
            elif rng.random() < 0.5:
                members = names[rng.randint(0, n - 1) :]  # a newer slice, same head
            else:
                members = names[: rng.randint(1, n)]  # an older slice, older head
            style = rng.choice(["replaces", "skips", "skiprange"])
            channels[cname] = GenChannel(
                pname, cname, members, _chain(rng, members, {b: bundles[b].version for b in members}, style)
            )
        default = rng.choice(chan_names)
        gen.packages[pname] = GenPackage(pname, default, channels, bundles)
    return gen


@dataclass
class BundleImages:
    """Bundle images built for a generated catalog: layouts by (package, version), expected files."""

    layouts: dict[tuple[str, str], object] = field(default_factory=dict)
    files: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    repository: dict[tuple[str, str], str] = field(default_factory=dict)


def bundle_catalog(
    host: str,
    workdir: Path,
    *,
    packages: int = 10,
    per_package: int = 5,
    seed: int = 5,
    prefix: str = "bundles",
) -> tuple[GeneratedCatalog, BundleImages]:
    """A catalog whose bundle images are real registry+v1 bundles (one small layer set each), named by
    digest under ``host/<prefix>/<package>``. Push them with ``push_bundle_images``."""
    from regfix.bundles import registry_v1_bundle
    from regfix.oci import write_layout

    built = BundleImages()

    def image(pkg: str, version: str) -> str:
        fx = registry_v1_bundle(
            package=pkg, version=version, channels=("stable",), large_crd=False, scorecard=False
        )
        layout = write_layout(workdir / f"{pkg}-{version}", fx.spec, "v" + version)
        built.layouts[(pkg, version)] = layout
        built.files[(pkg, version)] = dict(fx.files)
        built.repository[(pkg, version)] = f"{prefix}/{pkg}"
        return f"{host}/{prefix}/{pkg}@{layout.digest}"

    gen = generate(packages, seed=seed, image=image, bundles_per_package=(per_package, per_package))
    return gen, built


def push_bundle_images(registry: object, built: BundleImages, *, workers: int = 8) -> None:
    """Push every bundle image with the raw registry API (parallel; much faster than skopeo per image)."""
    from concurrent.futures import ThreadPoolExecutor

    from regfix.push import http_push

    def one(key: tuple[str, str]) -> None:
        http_push(built.layouts[key], registry.url, built.repository[key], "v" + key[1])  # type: ignore[arg-type, attr-defined]

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, sorted(built.layouts)))

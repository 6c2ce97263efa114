"""The options of ``Client`` and of the one-shot functions are typed (``ClientOptions`` and one
TypedDict per one-shot function), so that mypy checks a pipeline's option names and types as it
checks a method call; these tests keep every TypedDict equal to what the code accepts at run time."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract import call_options
from imgextract.settings import OPTION_NAMES, Settings

ONE_SHOTS: dict[str, Any] = {
    "pull": call_options.PullOptions,
    "inspect": call_options.InspectOptions,
    "copy": call_options.CopyOptions,
    "render": call_options.RenderOptions,
    "pull_catalog": call_options.CatalogPullOptions,
    "explain_mirrors": imgextract.ClientOptions,
}


def test_client_options_name_exactly_the_options_settings_accept() -> None:
    assert set(imgextract.ClientOptions.__annotations__) == OPTION_NAMES
    assert imgextract.ClientOptions.__required_keys__ == frozenset()


def _keywords(method: Any) -> set[str]:
    return {
        p.name
        for p in inspect.signature(method).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


@pytest.mark.parametrize("name", sorted(ONE_SHOTS))
def test_each_one_shot_typed_dict_is_the_client_options_plus_the_methods_keywords(name: str) -> None:
    typed = ONE_SHOTS[name]
    keys = set(typed.__annotations__) | {
        k for base in typed.__mro__ for k in getattr(base, "__annotations__", {})
    }
    assert set(typed.__optional_keys__) == keys and not typed.__required_keys__
    assert keys == OPTION_NAMES | _keywords(getattr(imgextract.Client, name))


def test_a_typed_options_dict_builds_a_client() -> None:
    """What a pipeline writes: one annotated dict of options for every client it makes."""
    options: imgextract.ClientOptions = {
        "insecure_registries": ["localhost:5000"],
        "retries": 0,
        "use_cache": False,
        "env": {"HOME": "/nonexistent"},
    }
    with imgextract.Client(**options) as client:
        assert client.settings == Settings.from_options(**options)
        assert client.settings.transport.insecure_registries == frozenset({"localhost:5000"})


def _undocumented(cls: type) -> list[str]:
    missing = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            doc = value.__doc__
        elif isinstance(value, (classmethod, staticmethod)) or inspect.isfunction(value):
            doc = inspect.getdoc(getattr(cls, name))
        else:
            continue
        if not doc:
            missing.append(f"{cls.__name__}.{name}")
    return missing


def test_help_documents_every_public_name_and_member() -> None:
    """``help(imgextract.X)`` says something for every name of ``__all__`` and every public method
    and property of its classes (a pipeline author reads them in an editor)."""
    missing = []
    for name in imgextract.__all__:
        obj = getattr(imgextract, name)
        if isinstance(obj, str):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            missing += _undocumented(obj)
    assert missing == []


def test_catalog_open_takes_the_client_options_typed() -> None:
    """``Catalog.open(ref, **options)`` builds a client from them: the same TypedDict."""
    options = inspect.signature(imgextract.Catalog.open).parameters["options"]
    assert options.kind is inspect.Parameter.VAR_KEYWORD
    assert str(options.annotation) == "Unpack[ClientOptions]"


@pytest.mark.parametrize(
    ("call", "wrong", "meant"),
    [
        (lambda **kw: imgextract.Client(**kw), "insecure_registry", "insecure_registries"),
        (
            lambda **kw: imgextract.inspect("localhost:5000/x:1", **kw),
            "insecure_registry",
            "insecure_registries",
        ),
        (lambda **kw: imgextract.pull("localhost:5000/x:1", "out", **kw), "path", "paths"),
        (lambda **kw: imgextract.render("localhost:5000/x:1", **kw), "migrate", "migrate_level"),
        (lambda **kw: imgextract.pull_catalog("localhost:5000/c:1", "out", **kw), "package", "packages"),
        (lambda **kw: imgextract.verify("localhost:5000/x:1", **kw), "registry_d", "registries_d"),
    ],
)
def test_a_misspelt_option_is_one_error_everywhere_with_a_suggestion(
    call: Any, wrong: str, meant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Client(insecure_registry=...)`` was a UsageError and ``imgextract.inspect(ref,
    insecure_registry=...)`` a TypeError naming ``Client.inspect()``: both are now the same error,
    a UsageError (the library's tree) and a TypeError (Python's word for it), naming the option
    meant, raised before anything is read or fetched."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(imgextract.UsageError) as caught:
        call(**{wrong: ["x"], "env": {"HOME": str(tmp_path)}})
    assert isinstance(caught.value, TypeError)
    assert str(caught.value) == f"unknown option {wrong} (did you mean {meant}?)"
    assert list(tmp_path.iterdir()) == []


def test_platform_is_taken_by_every_one_shot_function(tmp_path: Path) -> None:
    """``platform`` is a client option (the default) and a per-call one (pull, inspect, verify):
    the one-shot functions whose method has no ``platform`` passed it to the method anyway, and
    ``explain_mirrors(ref, platform=...)`` raised TypeError."""
    env = {"HOME": str(tmp_path)}
    found = imgextract.explain_mirrors("localhost:5000/x:1", platform="linux/arm64", env=env)
    assert [str(s.reference) for s in found.sources] == ["localhost:5000/x:1"]
    catalog = tmp_path / "catalog"
    (catalog / "etcd").mkdir(parents=True)
    (catalog / "etcd" / "catalog.yaml").write_text("schema: olm.package\nname: etcd\n")
    assert imgextract.render(catalog, platform="linux/arm64", env=env)[0]["name"] == "etcd"


def test_verify_one_shot_takes_its_policy(tmp_path: Path) -> None:
    """``imgextract.verify(ref, policy=...)``: the policy reaches the call (it was passed twice,
    TypeError); an unreadable one is refused before any network."""
    with pytest.raises(imgextract.ConfigError, match="nonexistent"):
        imgextract.verify("127.0.0.1:1/x/y:v1", policy=str(tmp_path / "nonexistent.json"), retries=0)


UNREACHABLE = "127.0.0.1:1/x/y:v1"  # nothing listens: a request would fail as UnreachableError


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda out, **kw: imgextract.pull(UNREACHABLE, out, kind="helm", **kw),
            "kind='helm': expected one of",
        ),
        (
            lambda out, **kw: imgextract.pull(UNREACHABLE, out, all=True, paths=["/m"], **kw),
            "all and paths are mutually exclusive",
        ),
        (
            lambda out, **kw: imgextract.pull_catalog(UNREACHABLE, out, jobs=0, **kw),
            "jobs must be at least 1",
        ),
        (
            lambda out, **kw: imgextract.pull_catalog(UNREACHABLE, out, max_per_registry=0, **kw),
            "max_per_registry must be at least 1",
        ),
    ],
)
def test_arguments_wrong_for_any_image_are_refused_before_any_request(
    call: Any, message: str, tmp_path: Path
) -> None:
    """A pipeline learns of a bad argument at once, not after a registry round trip (here: the
    registry is unreachable, so a late check would have reported the network instead); the
    catalog option is named as the library names it (``max_per_registry``, not ``per_registry``)."""
    with pytest.raises(imgextract.UsageError) as caught:
        call(tmp_path / "out", retries=0, env={"HOME": str(tmp_path)})
    assert str(caught.value).startswith(message)
    assert not (tmp_path / "out").exists()


def test_all_with_an_empty_iterable_of_paths_is_not_a_conflict(tmp_path: Path) -> None:
    """``paths`` is read once into a tuple before the checks: an empty generator is no paths."""
    with pytest.raises(imgextract.UnreachableError):  # past the argument checks, at the network
        imgextract.pull(UNREACHABLE, tmp_path / "out", all=True, paths=iter(()), retries=0)  # type: ignore[arg-type]  # run-time robustness

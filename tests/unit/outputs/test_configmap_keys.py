from __future__ import annotations

import re

import pytest

from imgextract.outputs.configmap.keys import assign_keys, is_valid_key, opm_key

KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def valid(key: str) -> bool:
    return bool(KEY.match(key)) and len(key) <= 253 and key not in (".", "..")


def test_opm_translation() -> None:
    assert opm_key("a+b.yaml") == "a-b.yaml"
    assert (
        opm_key("my operator (v1).clusterserviceversion.yaml")
        == "my-operator--v1-.clusterserviceversion.yaml"
    )
    assert opm_key("ok_name-1.2.yaml") == "ok_name-1.2.yaml"


def test_untranslated_name_keeps_its_key_whatever_the_order() -> None:
    for order in (["m/a+b.yaml", "m/a-b.yaml"], ["m/a-b.yaml", "m/a+b.yaml"]):
        keys = assign_keys(order)
        assert keys["m/a-b.yaml"] == "a-b.yaml"
        assert keys["m/a+b.yaml"] != "a-b.yaml" and valid(keys["m/a+b.yaml"])
        assert keys["m/a+b.yaml"].endswith(".yaml")
        assert list(keys) == order


def test_first_path_wins_between_equal_names() -> None:
    keys = assign_keys(["manifests/x.yaml", "metadata/x.yaml"])
    assert keys["manifests/x.yaml"] == "x.yaml"
    assert keys["metadata/x.yaml"] != "x.yaml" and valid(keys["metadata/x.yaml"])


@pytest.mark.parametrize("base", [".", "..", "", "x" * 300 + ".yaml", "y" * 400])
def test_invalid_opm_keys_are_replaced(base: str) -> None:
    path = f"manifests/{base}"
    key = assign_keys([path])[path]
    assert valid(key), key
    assert not is_valid_key(opm_key(base))


def test_long_name_keeps_extension() -> None:
    key = assign_keys(["m/" + "x" * 300 + ".yaml"])["m/" + "x" * 300 + ".yaml"]
    assert len(key) == 253 and key.endswith(".yaml")


def test_many_collisions_stay_unique_and_deterministic() -> None:
    paths = [f"d{i}/{c}.yaml" for i in range(20) for c in "+ @"]
    keys = assign_keys(paths)
    assert len(set(keys.values())) == len(paths)
    assert all(valid(k) for k in keys.values())
    # a derived key depends on the file's own path, not on which other files exist
    assert assign_keys(["d0/+.yaml", "d5/+.yaml"])["d5/+.yaml"] == keys["d5/+.yaml"]


def test_collision_with_long_extension() -> None:
    a, b = "m/z-." + "e" * 40, "m/z+." + "e" * 40
    keys = assign_keys([a, b])
    assert keys[a] == "z-." + "e" * 40
    assert keys[b] != keys[a] and valid(keys[b])


def test_derived_key_taken_by_a_real_file() -> None:
    first = assign_keys(["m/a-b.yaml", "m/a+b.yaml"])["m/a+b.yaml"]
    keys = assign_keys(["m/a-b.yaml", f"m/{first}", "m/a+b.yaml"])
    assert keys[f"m/{first}"] == first
    assert len(set(keys.values())) == 3 and all(valid(k) for k in keys.values())

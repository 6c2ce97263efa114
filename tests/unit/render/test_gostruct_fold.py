"""opm's struct fields are matched as Go's ``encoding/json`` matches them (``fieldByName`` with
``foldName``): the same folding as the OCI decoders, long s and Kelvin sign included."""

from __future__ import annotations

from imgextract.catalog.render.gostruct import field
from imgextract.oci.fields import go_fields


def test_long_s_and_kelvin_sign_fill_fields_as_in_go() -> None:
    obj = {"\u017fchema": "olm.package", "\u212aind": "x"}
    assert field(obj, "schema") == "olm.package"
    assert field(obj, "kind") == "x"
    assert go_fields(obj) == {"schema": "olm.package", "kind": "x"}


def test_exact_key_wins_only_when_no_other_key_folds_to_it() -> None:
    assert field({"name": "a"}, "name") == "a"
    assert field({"name": "a", "NAME": "b"}, "name") == "b"  # the later key wins, as in Go
    assert field({"NAME": "b", "name": None}, "name") == "b"  # null leaves the field as it was

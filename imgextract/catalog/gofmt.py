"""Go's ``fmt`` verbs ``%v`` and ``%t`` over a value ``json.Unmarshal`` put in an ``interface{}``.

opm prints such values in some errors (``got %t: %v``).  Their Go types are ``float64`` (every
number), ``bool``, ``string``, ``nil``, ``[]interface {}`` and ``map[string]interface {}``: ``%v``
writes a float64 as ``strconv``'s shortest ``%g`` (exponent form below 1e-4 and from 1e+06 on), a
slice as ``[a b]``, a map as ``map[k:v]`` with sorted keys, nil as ``<nil>``; ``%t`` suits only a
bool and marks anything else ``%!t(TYPE=VALUE)``, applied element by element inside slices and maps.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["go_t", "go_v"]


def _g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)``."""
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digit_tuple, exp = Decimal(repr(f)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    assert isinstance(exp, int)
    point = len(digits) + exp  # the value is 0.DIGITS x 10**point
    x = point - 1
    minus = "-" if sign else ""
    if x < -4 or x >= 6:  # shortest: precision 6 decides between %e and %f
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return f"{minus}{digits[:point]}.{digits[point:]}"


def _number(v: int | float) -> str:
    try:
        return _g(float(v))
    except OverflowError:  # not a float64 at all: its digits
        return str(v)


def _keys(v: dict[str, Any]) -> list[str]:
    return sorted(v, key=lambda k: k.encode("utf-8", "surrogatepass"))


def go_v(v: Any) -> str:
    """``fmt.Sprintf("%v", v)``."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _number(v)
    if isinstance(v, list):
        return "[" + " ".join(go_v(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_v(v[k])}" for k in _keys(v)) + "]"
    return str(v)


def go_t(v: Any) -> str:
    """``fmt.Sprintf("%t", v)``."""
    if v is None:
        return "%!t(<nil>)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"%!t(float64={_number(v)})"
    if isinstance(v, list):
        return "[" + " ".join(go_t(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_t(k)}:{go_t(v[k])}" for k in _keys(v)) + "]"
    return f"%!t(string={v})"

"""Go's ``fmt`` verbs ``%v`` and ``%t`` over a value ``json.Unmarshal`` put in an ``interface{}``.

opm prints such values in some errors (``got %t: %v``).  Their Go types are ``float64`` (every
number), ``bool``, ``string``, ``nil``, ``[]interface {}`` and ``map[string]interface {}``: ``%v``
writes a float64 as ``strconv``'s shortest ``%g`` (exponent form below 1e-4 and from 1e+06 on), a
slice as ``[a b]``, a map as ``map[k:v]`` with sorted keys, nil as ``<nil>``; ``%t`` suits only a
bool and marks anything else ``%!t(TYPE=VALUE)``, applied element by element inside slices and maps.
"""

from __future__ import annotations

from collections.abc import Callable
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


class _Text(str):
    """Literal text of the output (brackets, separators), told apart from a string value."""

    __slots__ = ()


def _format(v: Any, leaf: Callable[[Any], str], key: Callable[[str], str]) -> str:
    """``v`` with Go's bracketing of slices (``[a b]``) and maps (``map[k:v]``, sorted keys), each
    scalar by ``leaf`` and each key by ``key``.  Iterative: a value nested deeper than Python's
    recursion limit prints as Go prints it, not a RecursionError."""
    out: list[str] = []
    stack: list[Any] = [v]
    while stack:
        item = stack.pop()
        if type(item) is _Text:
            out.append(item)
        elif isinstance(item, list):
            stack.append(_Text("]"))
            for i in range(len(item) - 1, -1, -1):
                stack.append(item[i])
                if i:
                    stack.append(_Text(" "))
            out.append("[")
        elif isinstance(item, dict):
            keys = _keys(item)
            stack.append(_Text("]"))
            for i in range(len(keys) - 1, -1, -1):
                stack.append(item[keys[i]])
                stack.append(_Text(key(keys[i]) + ":"))
                if i:
                    stack.append(_Text(" "))
            out.append("map[")
        else:
            out.append(leaf(item))
    return "".join(out)


def _v(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _number(v)
    return str(v)


def _t(v: Any) -> str:
    if v is None:
        return "%!t(<nil>)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"%!t(float64={_number(v)})"
    return f"%!t(string={v})"


def go_v(v: Any) -> str:
    """``fmt.Sprintf("%v", v)``."""
    return _format(v, _v, str)


def go_t(v: Any) -> str:
    """``fmt.Sprintf("%t", v)``."""
    return _format(v, _t, _t)

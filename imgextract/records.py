"""Plain records: slotted classes whose equality, hash and ``repr`` come from their fields.

Defining a dataclass costs about a millisecond (its ``__init__``, ``__repr__``, ``__eq__`` and,
frozen, ``__setattr__``/``__delattr__``/``__hash__`` are generated as source text and compiled),
and a command defines dozens of them before its first request.  The internal records of the
pull path (descriptors, the image config, references as parsed, mirror rules, layer stats) are
these instead: a hand-written ``__init__`` and ``__slots__`` (the fields, in order), the rest
from the base, so defining one costs microseconds.  The public results stay frozen dataclasses.

``Record`` compares by value and, like a dataclass with ``eq`` and without ``frozen``, is
unhashable; ``FrozenRecord`` hashes by value (like a frozen dataclass: its fields are not
reassigned after ``__init__``; mypy holds them to that where they are declared ``Final``).
Fields named in ``_uncompared`` take no part in equality or hashing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class Record:
    """Equality and ``repr`` over ``__slots__`` (see the module doc)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[tuple[str, ...]] = ()
    _uncompared: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        slots = cls.__dict__.get("__slots__", ())
        cls._fields = (slots,) if isinstance(slots, str) else tuple(slots)
        cls._compared = tuple(f for f in cls._fields if f not in cls._uncompared)

    def _key(self) -> tuple[Any, ...]:
        return tuple([getattr(self, f) for f in self._compared])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # (defining __eq__ makes the class unhashable)

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{self.__class__.__qualname__}({fields})"


class FrozenRecord(Record):
    """A ``Record`` that hashes by value (its fields do not change after ``__init__``)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._key())


def value_hash(instance: Any) -> int:
    """A hash of a frozen dataclass by the values of its fields, where fields hold mappings, lists or
    dicts (labels, annotations, ConfigMap objects), which ``hash`` refuses: the generated
    ``__hash__`` of such a result raised TypeError.  Consistent with the generated ``__eq__``:
    equal fields give equal hashes (a mapping hashes as the set of its items, a list as a tuple)."""
    import dataclasses

    return hash(
        tuple(_hashable(getattr(instance, f.name)) for f in dataclasses.fields(instance) if f.compare)
    )


def _hashable(value: Any) -> Any:
    if isinstance(value, (str, bytes, int, float, type(None))):
        return value
    if isinstance(value, Mapping):
        return frozenset((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_hashable(v) for v in value)
    return value

"""Options of the wrong type are a UsageError naming the option, like options of the wrong value.

A pipeline reading its options from YAML or the environment passes ``"5"`` for ``timeout`` or
``"no"`` for ``use_cache``: they raised TypeError, AttributeError or ValueError from deep inside
(outside the library's one exception tree), or, for ``use_cache="no"`` and ``creds=5``, were
accepted and meant something else (a truthy string turned the cache on).
"""

from __future__ import annotations

from typing import Any

import pytest

import imgextract

CASES: list[tuple[str, Any]] = [
    ("timeout", "5"),
    ("deadline", "60"),
    ("min_speed", [1]),
    ("retry_time", "10"),
    ("retry_base_delay", "1"),
    ("retry_max_delay", "60"),
    ("retries", 2.5),
    ("timeout", True),
    ("user_agent", 5),
    ("insecure_registries", [5]),
    ("creds", 5),
    ("creds", b"user:pass"),
    ("cache_dir", 5),
    ("ca_file", 3.0),
    ("icsp_files", [5]),
    ("use_cache", "no"),
    ("use_cache", 0),
    ("env", ["HOME=/x"]),
    ("env", {"HOME": 5}),
]


@pytest.mark.parametrize(("name", "value"), CASES)
def test_an_option_of_the_wrong_type_is_a_usage_error_naming_it(name: str, value: Any) -> None:
    options: dict[str, Any] = {name: value}
    with pytest.raises(imgextract.UsageError, match=f"^{name} "):
        imgextract.Client(**options)


def test_the_right_types_still_pass() -> None:
    with imgextract.Client(
        timeout=5,
        deadline=60.5,
        retries=0,
        use_cache=False,
        creds="user:pass",
        user_agent="pipeline/1",
        env={"HOME": "/nonexistent"},
    ) as client:
        assert client.settings.transport.timeout == 5 and client.settings.cache.use_cache is False


def test_list_options_take_any_iterable_once() -> None:
    """A generator is read once: checking its items must not leave nothing to keep."""
    hosts = (h for h in ["localhost:5000", "http://127.0.0.1:5001/"])
    with imgextract.Client(insecure_registries=hosts, env={"HOME": "/nonexistent"}) as client:
        assert client.settings.transport.insecure_registries == {"localhost:5000", "127.0.0.1:5001"}

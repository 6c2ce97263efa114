from collections.abc import Callable
from typing import Any

def load(
    text: str | bytes,
    resolve_first: str,
    resolve_value: Callable[[str], Any],
    resolve_key: Callable[[str], str | None],
    max_depth: int,
    verbatim_first: str = ...,
    words: dict[str, Any] = ...,
) -> tuple[Any, bool] | None: ...

API: int

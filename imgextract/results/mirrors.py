"""The result of explaining a reference's mirrors (``Client.explain_mirrors``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgextract.mirrors import Source


@dataclass(frozen=True)
class MirrorsResult:
    """The endpoints a pull of ``reference`` would try, in order, each with the rule that produced it."""

    reference: str
    sources: tuple[Source, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract mirrors --json`` object."""
        return {
            "reference": self.reference,
            "sources": [
                {"reference": str(s.reference), "insecure": s.insecure, "blocked": s.blocked, "rule": s.rule}
                for s in self.sources
            ],
        }

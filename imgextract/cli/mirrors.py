"""``bundle-extract mirrors REF``: the endpoints a pull would try, in order, and why (no network)."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.options import check_ref, client_from, common_options


@click.command()
@click.argument("ref")
@common_options
def mirrors(ref: str, **kw: Any) -> None:
    """Explain the ordered endpoints a pull of REF would try, and the rule behind each (no network)."""
    json_output = kw["json_output"]
    check_ref(ref)
    with client_from(kw) as client:
        data = client.explain_mirrors(ref).to_json()
    if json_output:
        emit_json(data)
        return
    click.echo(data["reference"])
    for i, s in enumerate(data["sources"], 1):
        flags = ", ".join(f for f, on in (("insecure", s["insecure"]), ("blocked", s["blocked"])) if on)
        click.echo(f"  {i}. {s['reference']}" + (f" [{flags}]" if flags else "") + f"  <- {s['rule']}")

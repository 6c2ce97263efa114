"""``bundle-extract inspect REF``: what a pull would fetch, without extracting anything."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.options import (
    cache_options,
    check_ref,
    client_from,
    common_options,
    prefer_compression_option,
)


@click.command()
@click.argument("ref")
@prefer_compression_option
@cache_options
@common_options
def inspect(ref: str, prefer_compression: str, **kw: Any) -> None:
    """Show what would be pulled: digest, source, platforms, labels, annotations, layers, kind."""
    json_output = kw["json_output"]
    check_ref(ref)
    with client_from(kw) as client:
        result = client.inspect(ref, prefer_compression=prefer_compression)
    data = result.to_json()
    if json_output:
        emit_json(data)
        return
    click.echo(f"Reference:  {data['reference']}")
    click.echo(f"Resolved:   {result.resolved.name}@{result.digest}")
    click.echo(f"Source:     {result.source}")
    click.echo(f"Media type: {result.media_type}")
    click.echo(
        f"Platform:   {result.platform}"
        + (f" (of {', '.join(result.platforms)})" if result.platforms else "")
    )
    click.echo(f"Kind:       {result.kind}")
    if result.bundle:
        b = result.bundle
        click.echo(f"Package:    {b.package}  channels: {','.join(b.channels)}  default: {b.default_channel}")
    click.echo("Labels:")
    for k, v in sorted(result.labels.items()):
        click.echo(f"  {k}={v}")
    if result.annotations:
        click.echo("Annotations:")
        for k, v in sorted(result.annotations.items()):
            click.echo(f"  {k}={v}")
    if result.compression is not None:
        c = result.compression
        click.echo(f"Variants:   {c['chosen']} chosen ({c['reason']})")
        for v in c["variants"]:
            click.echo(f"  {v['compression']:<13} {v['digest']}  {v['layerBytes']:>12} layer bytes")
    click.echo("Layers:")
    for layer in result.layers:
        click.echo(f"  {layer.digest}  {layer.size:>12}  {layer.media_type}")

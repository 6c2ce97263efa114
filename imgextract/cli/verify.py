"""``bundle-extract verify REF``: judge an image by a signature policy, without fetching any layer."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.options import cache_options, check_ref, client_from, common_options, signature_options


@click.command()
@click.argument("ref")
@signature_options
@cache_options
@common_options
def verify(ref: str, **kw: Any) -> None:
    """Verify REF's signatures against a containers policy.json: accepted (exit 0) or refused (exit 8).

    Reads the manifest and the signatures (GPG lookaside per registries.d, cosign .sig attachments),
    never a layer. Without --policy, the default policy is used (~/.config/containers/policy.json,
    else /etc/containers/policy.json). Through mirrors, signatures are read from where the image is
    pulled and checked against REF. See docs/signatures.md.
    """
    from imgextract.signatures import refusal

    json_output = kw["json_output"]
    check_ref(ref)
    policy = kw.pop("policy")
    with client_from(kw) as client:
        verdict = client.verify(ref, policy=policy)
    if json_output:
        emit_json(verdict.to_json())
    elif verdict.accepted:
        click.echo(verdict.message())
        for check in verdict.signatures:
            if check.valid:
                click.echo(f"  {check.type} signature by {check.key_id} for {check.identity}")
    if not verdict.accepted:
        raise refusal(verdict)

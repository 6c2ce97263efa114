"""The pull pipeline: resolve (sources, manifest, config) -> plan (which layers) -> extract (apply).

``prefetch`` downloads layers ahead of the applier.  The public entry point is
:meth:`imgextract.Client.pull`; these modules are the stages it runs.
"""

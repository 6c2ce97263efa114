"""A registry+v1 bundle as Kubernetes ConfigMaps: build, read back, dump as YAML.

``build`` makes the objects (keys as OLM's loader reads them, compression, splitting), ``reader``
turns them back into files, ``dump`` writes the YAML stream; ``keys``, ``layout``, ``meta`` and
``codec`` are their parts.  See docs/configmap.md.
"""

from __future__ import annotations

from imgextract.outputs.configmap.build import Compress, build_configmaps
from imgextract.outputs.configmap.dump import dump_yaml
from imgextract.outputs.configmap.meta import MAX_DATA_BYTES, default_name
from imgextract.outputs.configmap.reader import load_yaml, read

__all__ = ["MAX_DATA_BYTES", "Compress", "build_configmaps", "default_name", "dump_yaml", "load_yaml", "read"]

"""Mirror resolution: registries.conf v2 + OpenShift ICSP/IDMS/ITMS -> ordered pull sources.

Pure logic, no network I/O.  See docs/mirrors.md.
"""

from imgextract.mirrors.config import MirrorConfig, MirrorSettings, Source, load_mirror_config, mirrors_json

__all__ = ["MirrorConfig", "MirrorSettings", "Source", "load_mirror_config", "mirrors_json"]

"""Mirror resolution: registries.conf v2 + OpenShift ICSP/IDMS/ITMS -> ordered pull sources.

Pure logic, no network I/O.  See docs/mirrors.md.
"""

from imgextract.mirrors.config import MirrorConfig, Source, load_mirror_config, mirrors_json
from imgextract.settings import MirrorSettings

__all__ = ["MirrorConfig", "MirrorSettings", "Source", "load_mirror_config", "mirrors_json"]

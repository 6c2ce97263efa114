"""Removing a tree that an extracted image may have made unwritable or unsearchable.

Image layers can hold directories without write or search permission (mode 0555, 0000); a plain
``shutil.rmtree`` fails on them.  Used by the output directory (staging, replaced outputs) and by
the content cache (pruning).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["rmtree_forcing_permissions"]


def rmtree_forcing_permissions(path: Path) -> None:
    """Give the owner full access to ``path`` and every directory under it (never through a
    symlink), then remove the tree.  ``path`` must be a directory; errors are ``OSError``."""
    os.chmod(path, stat.S_IRWXU)
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            sub = os.path.join(dirpath, d)
            if not os.path.islink(sub):
                os.chmod(sub, stat.S_IRWXU)
    import shutil  # here: its import (bz2, lzma) is start-up time most pulls never need

    shutil.rmtree(path)

"""Shared test set-up: the repository's own Python packages on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for folder in ("module_utils", "filter_plugins", "tools"):
    if str(REPO / folder) not in sys.path:
        sys.path.insert(0, str(REPO / folder))

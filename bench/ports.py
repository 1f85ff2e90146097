"""Free local ports for the benchmark servers: the tests' helper (127.0.0.1, never the same port
twice in a run), shared rather than copied."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import free_port  # noqa: E402,F401

"""GET /v1/version: the OME API level we match, and our own build id."""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from ome import OME_API_VERSION, __version__
from ome.api.context import Ctx
from ome.api.envelope import Reply, ok


@functools.cache
def build_id() -> str:
    """`ome-<package version>`, plus `-g<short sha>` when running from a git checkout."""
    base = f"ome-{__version__}"
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return base
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}-g{sha}" if sha else base


async def get_version(ctx: Ctx) -> Reply:
    return ok({"gitVersion": build_id(), "version": OME_API_VERSION})

"""What every benchmark report shares: the machine line and its own section of RESULTS.md."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def machine(extra: str) -> str:
    """'<n> CPU(s) (<model>), Linux <release>, Python <version>, <extra>' for the report header."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPU(s) ({cpu}), Linux {platform.release()}, Python {platform.python_version()}, "
            f"{extra}")


def write_section(out: Path, start: str, end: str, text: str) -> None:
    """Replace the text between the start/end markers in `out` (append the section if absent),
    so each benchmark rewrites only its own part of RESULTS.md."""
    section = f"{start}\n{text.rstrip()}\n{end}\n"
    old = out.read_text() if out.exists() else "# Benchmarks\n"
    if start in old and end in old:
        after = old[old.index(end) + len(end):].lstrip("\n")
        new = old[:old.index(start)] + section + ("\n" + after if after else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    out.write_text(new)

"""cffi API-mode build of ome's native core into the extension ome._native.

The cdef is the public header itself, minus preprocessor lines, so the
header stays the single source of truth for what Python can call.
Every native/src/*.c is compiled in; link flags for system libraries come
from pkg-config (native/pkgs.txt) so a new dependency is one line there.
"""
from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "include", "ome_native.h")

# System libraries the core links against, as pkg-config names (native/pkgs.txt, shared with
# native/Makefile).
NATIVE_PKGS: list[str] = [
    ln.strip() for ln in open(os.path.join(HERE, "pkgs.txt"), encoding="utf-8")
    if ln.strip() and not ln.lstrip().startswith("#")
]


def _cdef_from_header(path: str) -> str:
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # block comments
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(lines)


def _pkg_config(*args: str) -> list[str]:
    if not NATIVE_PKGS:
        return []
    out = subprocess.run(["pkg-config", *args, *NATIVE_PKGS], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


ffibuilder = FFI()
ffibuilder.cdef(_cdef_from_header(HEADER))
ffibuilder.set_source(
    "ome._native",
    '#include "ome_native.h"\n',
    sources=sorted(os.path.relpath(p) for p in glob.glob(os.path.join(HERE, "src", "*.c"))),
    include_dirs=[os.path.join(HERE, "include")],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        *_pkg_config("--cflags")],
    extra_link_args=_pkg_config("--libs"),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)

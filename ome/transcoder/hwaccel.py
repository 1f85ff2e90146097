"""Accelerators and OME's module selection rules (reference §10).

`probe()` asks the C core once (NVML + CUDA hwdevice, QSV, VAAPI; NVDEC and NVENC
separately) and caches the answer; `candidates()` turns `<HWAccels>` and an
encode's `<Modules>` into an ordered list of (family, device) to try, with
software last only when OME's rules (or our `Fallback` policy) allow it;
`pick_device()` spreads sessions over the devices of a family by load.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ome.native import ffi, lib

log = logging.getLogger(__name__)

SOFTWARE = 0
FAMILY_NAMES = {lib.OMN_HW_NVIDIA: "nv", lib.OMN_HW_QSV: "qsv", lib.OMN_HW_VAAPI: "vaapi"}
# OME's module names (case-insensitive suffix match, §10.3) -> family; software names -> SOFTWARE.
_MODULES = {"nv": lib.OMN_HW_NVIDIA, "nvenc": lib.OMN_HW_NVIDIA, "nvdec": lib.OMN_HW_NVIDIA,
            "qsv": lib.OMN_HW_QSV, "vaapi": lib.OMN_HW_VAAPI,
            "xma": -1, "nilogan": -1,                       # families this build has no driver for
            "openh264": SOFTWARE, "x264": SOFTWARE, "libx264": SOFTWARE, "x265": SOFTWARE,
            "libvpx": SOFTWARE, "fdkaac": SOFTWARE, "default": SOFTWARE}
_HW_ORDER = ("xma", "nv", "qsv", "nilogan")                 # OME's order for an empty preference


@dataclass
class Device:
    family: int
    index: int
    name: str
    has_decoder: bool
    has_encoder: bool
    has_scaler: bool
    from_nvml: bool
    memory_total: int
    sessions: int

    def to_json(self) -> dict[str, Any]:
        return {"family": FAMILY_NAMES.get(self.family, "?"), "id": self.index, "name": self.name,
                "engines": {"decoder": self.has_decoder, "encoder": self.has_encoder, "scaler": self.has_scaler},
                "nvml": self.from_nvml, "memoryTotal": self.memory_total, "sessions": self.sessions}


_probe_log: str | None = None


def probe() -> list[Device]:
    """The devices with live session counts (the probe itself runs once)."""
    global _probe_log
    cap = 16
    out = ffi.new("omn_hw_device[]", cap)
    text = ffi.new("char[512]")
    n = lib.omn_hw_probe(out, cap, text, 512)
    if _probe_log is None:
        _probe_log = ffi.string(text).decode(errors="replace").strip()
        log.info("hardware accelerators: %s", _probe_log or "none")
    return [Device(d.family, d.index, ffi.string(d.name).decode(errors="replace"), bool(d.has_decoder),
                   bool(d.has_encoder), bool(d.has_scaler), bool(d.from_nvml), int(d.memory_total),
                   int(d.sessions)) for d in out[0:min(n, cap)]]


def probe_json() -> dict[str, Any]:
    devices = probe()
    return {"devices": [d.to_json() for d in devices], "probe": _probe_log or "",
            "summary": "none" if not devices else f"{len(devices)} device(s)"}


def _parse(modules: str) -> list[tuple[str, int | None]]:
    """`name[:id],...` -> [(module, device id or None)] in order."""
    out: list[tuple[str, int | None]] = []
    for item in (modules or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        name, _, dev = item.partition(":")
        for known in sorted(_MODULES, key=len, reverse=True):
            if name == known or name.endswith("_" + known) or name.endswith(known):
                name = known
                break
        out.append((name, int(dev) if dev.strip().isdigit() else None))
    return out


def candidates(hw: Any, encode_modules: str, codec: str, *, what: str) -> tuple[list[tuple[int, int | None]], list[str]]:
    """Ordered (family, device id|None) to try for one track; family SOFTWARE = CPU.

    `hw` is `HWAccels.Encoder` or `.Decoder` (or None); `encode_modules` the encode's own
    `<Modules>` (encoders only). Returns the list and the warnings to log."""
    warnings: list[str] = []
    enabled = bool(hw is not None and hw.enable)
    pref = encode_modules or (hw.modules if enabled else "")
    if "nvenc" in (codec or "").lower() or codec.lower().endswith("_nv"):
        pref = "nv," + pref
    items = _parse(pref)
    if not items:
        items = [(m, None) for m in _HW_ORDER] + [("default", None)] if enabled else [("default", None)]
    out: list[tuple[int, int | None]] = []
    for name, dev in items:
        family = _MODULES.get(name)
        if family is None:
            warnings.append(f"unknown {what} module {name!r}; ignored")
            continue
        if family != SOFTWARE and not enabled:
            warnings.append("HWAccels is not enabled. Ignore this codec")
            continue
        if family == -1:
            continue                      # XMA / NILOGAN: no driver in this build
        if (family, dev) not in out:
            out.append((family, dev))
    if not out and not items_hardware(items):
        out.append((SOFTWARE, None))
    elif not out and not enabled:
        out.append((SOFTWARE, None))      # every hardware entry dropped by rule 3: OME runs on the CPU
    fallback = (getattr(hw, "fallback", "fail") or "fail").lower() if hw is not None else "fail"
    if fallback == "software" and (SOFTWARE, None) not in out:
        out.append((SOFTWARE, None))
    return out, warnings


def items_hardware(items: list[tuple[str, int | None]]) -> bool:
    return any(_MODULES.get(n, SOFTWARE) != SOFTWARE for n, _ in items)


def pick_device(family: int, dev: int | None, *, encoder: bool) -> int | None:
    """The device of `family` to use: `dev` when it has the engine, else the least loaded one
    that has it; None when there is none."""
    devices = [d for d in probe() if d.family == family and (d.has_encoder if encoder else d.has_decoder)]
    if dev is not None:
        devices = [d for d in devices if d.index == dev]
    if not devices:
        return None
    return min(devices, key=lambda d: (d.sessions, d.index)).index

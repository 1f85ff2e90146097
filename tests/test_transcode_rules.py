"""BypassIfMatch (eq/lte/gte) decides bypass exactly when the rule holds, and OME's module
selection rules (§10.3) with the Fallback policy, against the real hardware probe of this
machine (no GPU in CI: the probe reports none)."""
from __future__ import annotations

import itertools

import pytest

from ome.config import parse_application_json
from ome.media import MediaKind, Track
from ome.transcoder import hwaccel
from ome.transcoder.bypass import audio_bypass, video_bypass


def _encodes(video: dict, audio: dict):
    app = parse_application_json({"name": "a", "type": "live", "outputProfiles": {"outputProfile": [{
        "name": "p", "outputStreamName": "${OriginStreamName}",
        "encodes": {"videos": [video], "audios": [audio]}}]}})
    enc = app.output_profiles.output_profile[0].encodes
    return enc.videos[0], enc.audios[0]


@pytest.mark.parametrize("op,have,want", list(itertools.product(["eq", "lte", "gte"], [360, 480, 720], [480])))
def test_video_bypass_if_match_exactly_when_the_rule_holds(op, have, want):
    v, _ = _encodes({"codec": "h264", "bitrate": "1M", "height": want, "bypassIfMatch": {"codec": "eq", "height": op}},
                    {"codec": "aac", "bitrate": "128K"})
    track = Track(0, MediaKind.VIDEO, "H264", 90000, b"", width=have * 16 // 9, height=have)
    expected = {"eq": have == want, "lte": have <= want, "gte": have >= want}[op]
    assert video_bypass(v, track) is expected
    track.codec = "H265"                            # Codec eq fails: never bypass
    assert video_bypass(v, track) is False


@pytest.mark.parametrize("op,have", list(itertools.product(["eq", "lte", "gte"], [44100, 48000, 96000])))
def test_audio_bypass_if_match_samplerate_and_channel(op, have):
    _, a = _encodes({"bypass": True}, {"codec": "aac", "bitrate": "128K", "samplerate": 48000, "channel": 2,
                                       "bypassIfMatch": {"samplerate": op, "channel": "eq"}})
    track = Track(1, MediaKind.AUDIO, "AAC", have, b"", samplerate=have, channels=2)
    assert audio_bypass(a, track) is {"eq": have == 48000, "lte": have <= 48000, "gte": have >= 48000}[op]
    track.channels = 1
    assert audio_bypass(a, track) is False


class _Hw:
    def __init__(self, enable: bool, modules: str = "", fallback: str = "fail") -> None:
        self.enable, self.modules, self.fallback = enable, modules, fallback


def test_module_selection_rules_and_fallback_policy():
    sw, nv, qsv = hwaccel.SOFTWARE, hwaccel.lib.OMN_HW_NVIDIA, hwaccel.lib.OMN_HW_QSV
    # HW off: software only; a hardware module listed is dropped with OME's warning
    assert hwaccel.candidates(None, "", "h264", what="encoder") == ([(sw, None)], [])
    cands, warns = hwaccel.candidates(_Hw(False), "nv", "h264", what="encoder")
    assert cands == [(sw, None)] and warns == ["HWAccels is not enabled. Ignore this codec"]
    # HW on, empty preference: every family in OME's order, then DEFAULT
    assert hwaccel.candidates(_Hw(True), "", "h264", what="encoder")[0] == [(nv, None), (qsv, None), (sw, None)]
    # the encode's Modules win; DEFAULT only when listed (OME) or with Fallback software (ome)
    assert hwaccel.candidates(_Hw(True), "nv:1,qsv", "h264", what="encoder")[0] == [(nv, 1), (qsv, None)]
    assert hwaccel.candidates(_Hw(True), "nv,default", "h264", what="encoder")[0] == [(nv, None), (sw, None)]
    assert hwaccel.candidates(_Hw(True, "", "software"), "h264_nvenc", "h264",
                              what="encoder")[0] == [(nv, None), (sw, None)]
    assert hwaccel.candidates(_Hw(True), "x264", "h264", what="encoder")[0] == [(sw, None)]


def test_probe_reports_engines_separately_and_spreads_by_load():
    devices = hwaccel.probe()
    info = hwaccel.probe_json()
    assert info["summary"] == ("none" if not devices else f"{len(devices)} device(s)")
    assert "NVML" in info["probe"] and "VAAPI" in info["probe"]
    for d in devices:                                # engines are separate facts per device
        assert set(d.to_json()["engines"]) == {"decoder", "encoder", "scaler"}
    if not any(d.family == hwaccel.lib.OMN_HW_NVIDIA and d.has_encoder for d in devices):
        assert hwaccel.pick_device(hwaccel.lib.OMN_HW_NVIDIA, None, encoder=True) is None

"""Every validator with OME's text, from JSON and from XML (where the file and line are added)."""
from __future__ import annotations

import pytest

from ome.config import ConfigError, load_server_config, parse_application_json, parse_virtual_host_json


def app_error(**sections) -> str:
    with pytest.raises(ConfigError) as info:
        parse_application_json({"name": "a", "type": "live", **sections})
    return str(info.value)


def profile(encodes=None, playlists=None, **extra):
    item = {"name": "p", "outputStreamName": "o", **extra}
    if encodes is not None:
        item["encodes"] = encodes
    if playlists is not None:
        item["playlists"] = playlists
    return {"outputProfile": [item]}


def test_application_type():
    with pytest.raises(ConfigError, match="^Unknown type: Live$"):
        parse_application_json({"name": "a", "type": "Live"})
    assert parse_application_json({"name": "a", "type": "vod"}).type == "vod"


@pytest.mark.parametrize("value", [-1, 121, "200"])
def test_skip_frames_range(value):
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "skipFrames": value}]})) == \
        "SkipFrames must be between 0 and 120"
    assert app_error(outputProfiles=profile({"images": [{"codec": "jpeg", "skipFrames": value}]})) == \
        "SkipFrames must be between 0 and 120"


def test_skip_frames_in_range_and_default():
    app = parse_application_json({"name": "a", "type": "live", "outputProfiles": profile(
        {"videos": [{"bypass": True, "skipFrames": 120}, {"bypass": True}]})})
    videos = app.output_profiles.output_profile[0].encodes.videos
    assert [v.skip_frames for v in videos] == [120, -1]


def test_bframes_range():
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "bFrames": 17}]})) == \
        "BFrames must be between 0 and 16"


def test_codec_and_bitrate_needed_unless_bypass():
    assert app_error(outputProfiles=profile({"videos": [{"bitrate": 1000}]})) == \
        "Codec must be specified when bypass is false"
    assert app_error(outputProfiles=profile({"audios": [{"bypassIfMatch": {"codec": "eq"}}]})) == \
        "Codec must be specified when bypass is false"
    assert app_error(outputProfiles=profile({"audios": [{"codec": "aac"}]})) == \
        "Bitrate must be specified when bypass is false"
    assert app_error(outputProfiles=profile({"videos": [{"codec": "h264", "bitrate": "0"}]})) == \
        "Bitrate must be greater than 0: 0"
    ok = parse_application_json({"name": "a", "type": "live", "outputProfiles": profile(
        {"videos": [{"codec": "h264", "bitrate": "2.5M"}, {"bypass": "true"}], "audios": [{"codec": "opus",
                                                                                         "bitrate": "96K"}]})})
    encodes = ok.output_profiles.output_profile[0].encodes
    assert encodes.videos[0].bitrate == int(2.5 * 1024 * 1024) and encodes.audios[0].bitrate == 96 * 1024


def test_key_frame_interval():
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "keyFrameIntervalType": "gop"}]})) == \
        "Invalid KeyFrameIntervalType: gop (frame, time)"
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "keyFrameInterval": 601}]})) == \
        "KeyFrameInterval must be between 0 and 600 frames"
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "keyFrameIntervalType": "time",
                                                         "keyFrameInterval": 0}]})) == \
        "KeyFrameInterval must be between 1 and 10000 ms"
    app = parse_application_json({"name": "a", "type": "live", "outputProfiles": profile(
        {"videos": [{"bypass": True, "keyFrameIntervalType": "TIME", "keyFrameInterval": 2000}]})})
    assert app.output_profiles.output_profile[0].encodes.videos[0].key_frame_interval_type == "time"


@pytest.mark.parametrize("bim,text", [
    ({"codec": "lte"}, "BypassIfMatch.Codec must specified only one of eq"),
    ({"width": "ne"}, "BypassIfMatch.Width must specified only one of eq, lte, gte"),
    ({"height": "x"}, "BypassIfMatch.Height must specified only one of eq, lte, gte"),
    ({"framerate": "lt"}, "BypassIfMatch.Framerate must specified only one of eq, lte, gte"),
    ({"sAR": "gte"}, "BypassIfMatch.SAR must specified only one of eq"),
    ({"bitrate": "eq"}, "BypassIfMatch.Bitrate is not yet supported"),
])
def test_video_bypass_if_match(bim, text):
    assert app_error(outputProfiles=profile({"videos": [{"bypass": True, "bypassIfMatch": bim}]})) == text


@pytest.mark.parametrize("bim,text", [
    ({"codec": "gte"}, "BypassIfMatch.Codec must specified only one of eq"),
    ({"samplerate": "ne"}, "BypassIfMatch.Samplerate must specified only one of eq, lte, gte"),
    ({"channel": "x"}, "BypassIfMatch.Channel must specified only one of eq, lte, gte"),
])
def test_audio_bypass_if_match(bim, text):
    assert app_error(outputProfiles=profile({"audios": [{"bypass": True, "bypassIfMatch": bim}]})) == text


def test_bypass_if_match_accepts_any_case():
    app = parse_application_json({"name": "a", "type": "live", "outputProfiles": profile({"videos": [
        {"bypass": True, "bypassIfMatch": {"codec": "EQ", "width": "Lte", "height": "gte", "framerate": "eq",
                                           "sAR": "eq"}}]})})
    assert app.output_profiles.output_profile[0].encodes.videos[0].bypass_if_match.width == "Lte"


def test_playlist_validators():
    encodes = {"videos": [{"name": "v", "bypass": True}], "audios": [{"name": "a", "bypass": True}]}
    dup = [{"fileName": "abr", "renditions": [{"name": "r", "video": "v"}, {"name": "r", "audio": "a"}]}]
    assert app_error(outputProfiles=profile(encodes, dup)) == "Duplicate rendition name: r"
    files = [{"fileName": "abr"}, {"fileName": "abr"}]
    assert app_error(outputProfiles=profile(encodes, files)) == "Duplicate playlist file name: abr"
    missing = [{"fileName": "abr", "renditions": [{"name": "r", "video": "nope"}]}]
    assert app_error(outputProfiles=profile(encodes, missing)) == "Playlist Error"
    assert app_error(outputProfiles=profile(encodes, [{"name": "x"}])) == "playlist.fileName is not optional"
    assert app_error(outputProfiles=profile(encodes, [{"fileName": "f", "renditions": [{"video": "v"}]}])) == \
        "rendition.name is not optional"
    templates = [{"fileName": "f", "rendition_templates": [{"name": "${Height}p",
                                                            "video_template": {"encoding_type": "some"}}]}]
    assert app_error(outputProfiles=profile(encodes, templates)) == "Invalid EncodingType: some (all, encoded, bypassed)"
    templates = [{"fileName": "f", "rendition_templates": [{"name": "t", "audio_template": {"encoding_type": "x"}}]}]
    assert app_error(outputProfiles=profile(encodes, templates)) == "Invalid EncodingType: x (all, encoded, bypassed)"
    ok = parse_application_json({"name": "a", "type": "live", "outputProfiles": profile(encodes, [
        {"fileName": "abr", "renditions": [{"name": "r", "video": "v", "audio": "a"}],
         "rendition_templates": [{"name": "${Height}p", "video_template": {"encoding_type": "Bypassed",
                                                                           "max_height": 720}}]}])})
    tpl = ok.output_profiles.output_profile[0].playlists[0].rendition_templates[0].video_template
    assert tpl.max_height == 720 and tpl.min_height == -1


def test_subtitles():
    assert app_error(outputProfiles={"mediaOptions": {"subtitles": {"enable": True}}}) == \
        "Subtitle is enabled but no renditions are defined"
    subtitles = {"enable": True, "defaultLabel": "fr", "rendition": [{"label": "en", "language": "en"}]}
    assert app_error(outputProfiles={"mediaOptions": {"subtitles": subtitles}}) == \
        "Default label 'fr' not found in subtitle renditions"


def test_timestamp_mode():
    assert app_error(providers={"rtmp": {"timestampMode": "zero"}}) == \
        "Invalid TimestampMode value: zero (expected: ZeroBased, Original)"
    app = parse_application_json({"name": "a", "type": "live", "providers": {
        "rtmp": {"timestampMode": "zerobased"}, "srt": {"timestampMode": "ORIGINAL"},
        "webrtc": {"useIncomingTimestamp": True}, "ovt": {}}})
    p = app.providers
    assert (p.rtmp.timestamp_mode, p.srt.timestamp_mode, p.webrtc.timestamp_mode, p.ovt.timestamp_mode) == \
        ("ZeroBased", "Original", "Original", None)


@pytest.mark.parametrize("provider,xml", [("ovt", "OVT"), ("rtspPull", "RTSPPull"), ("rtsp", "RTSP"),
                                          ("file", "FILE"), ("schedule", "Schedule")])
def test_packet_silence_timeout_unsupported(provider, xml):
    assert app_error(providers={provider: {"packetSilenceTimeoutMs": 100}}) == \
        f"PacketSilenceTimeoutMs is not supported for this provider type: {xml}"


def test_packet_silence_timeout_supported():
    app = parse_application_json({"name": "a", "type": "live", "providers": {
        name: {"packetSilenceTimeoutMs": 700} for name in ("rtmp", "mpegts", "webrtc", "srt", "multiplex")}})
    assert app.providers.rtmp.packet_silence_timeout_ms == 700 and app.providers.mpegts.packet_silence_timeout_ms == 700
    app = parse_application_json({"name": "a", "type": "live", "providers": {"mpegts": {}, "rtmp": {}}})
    assert app.providers.mpegts.packet_silence_timeout_ms == 1500 and app.providers.rtmp.packet_silence_timeout_ms == 0


def test_bandwidth_estimation():
    for value in ("TransportCC", "gcc"):
        assert app_error(publishers={"webrtc": {"bandwidthEstimation": value}}) == \
            "Invalid value for BWE. Valid values are 'TransportCC' or 'REMB'"
    app = parse_application_json({"name": "a", "type": "live", "publishers": {"webrtc": {"bandwidthEstimation": "Remb"}}})
    assert app.publishers.webrtc.bandwidth_estimation == "Remb"


def test_deprecated_push_publishers_turn_on_push():
    app = parse_application_json({"name": "a", "type": "live", "publishers": {"rtmpPush": {}}})
    assert app.publishers.push is not None and app.publishers.rtmp_push is not None


def test_hardware_acceleration_deprecated_turns_on_hwaccels():
    app = parse_application_json({"name": "a", "type": "live", "outputProfiles": {"hardwareAcceleration": True}})
    hw = app.output_profiles.hwaccels
    assert hw.decoder.enable and hw.encoder.enable
    assert app.source_json["outputProfiles"] == {"hardwareAcceleration": True}


def test_origin_map_store_host():
    with pytest.raises(ConfigError, match=r"^Invalid host format redis\.server > it must be host:port$"):
        parse_virtual_host_json({"name": "v", "originMapStore": {"redisServer": {"host": "redis.server"}}})


def test_mpegts_stream_ports():
    with pytest.raises(ConfigError, match="^Invalid port range$"):
        parse_application_json({"name": "a", "type": "live", "providers": {"mpegts": {"streams": [
            {"name": "s", "port": "4005-4000"}]}}})
    app = parse_application_json({"name": "a", "type": "live", "providers": {"mpegts": {"streams": [
        {"name": "s", "port": 4000}, {"name": "t", "port": "4001-4002/udp"}]}}})
    assert [s.port.ports for s in app.providers.mpegts.stream_map] == [[4000], [4001, 4002]]


def test_xml_validator_errors_name_file_and_line(tmp_path):
    path = tmp_path / "Server.xml"
    path.write_text('<Server version="8"><Type>origin</Type><IP>*</IP><Bind/><VirtualHosts><VirtualHost>\n'
                    "<Name>v</Name><Applications><Application><Name>a</Name><Type>live</Type><OutputProfiles>\n"
                    "<OutputProfile><Name>p</Name><OutputStreamName>o</OutputStreamName><Encodes>\n"
                    "<Video><Bypass>true</Bypass>\n<SkipFrames>500</SkipFrames></Video>\n"
                    "<Audio>\n<Bitrate>1000</Bitrate></Audio>\n"
                    "</Encodes></OutputProfile></OutputProfiles></Application></Applications>"
                    "</VirtualHost></VirtualHosts></Server>")
    with pytest.raises(ConfigError) as info:
        load_server_config(tmp_path)
    assert str(info.value) == f"SkipFrames must be between 0 and 120 in {path}:5"
    path.write_text(path.read_text().replace("<SkipFrames>500</SkipFrames>", ""))
    with pytest.raises(ConfigError) as info:
        load_server_config(tmp_path)
    # A model-level check points at the element it checks.
    assert str(info.value) == f"Codec must be specified when bypass is false in {path}:6"

"""The shipped and OME-shaped configs load unchanged, with the values OME would use."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ome.config import Port, RangedPort, load_server_config, parse_ice_candidate

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "config"


def test_ome_sample_server_xml_loads_with_defaults():
    config = load_server_config(DATA / "ome_sample")
    assert config.version == 8
    assert (config.name, config.type, config.ip) == ("OvenMediaEngine", "origin", ["*"])
    assert config.stun_server == "stun.ovenmediaengine.com:13478"
    assert config.privacy_protection is False
    assert config.config_file == DATA / "ome_sample" / "Server.xml"
    assert config.config_dir == DATA / "ome_sample"
    # Modules: HTTP2 on, LLHLS on, P2P off with 2 peers; absent modules keep their defaults.
    assert config.modules.http2.enable and config.modules.llhls.enable
    assert config.modules.p2p.enable is False and config.modules.p2p.max_client_peers_per_host_peer == 2
    assert config.modules.dynamic_app_removal.enable is False
    # Bind: the API is commented out.
    bind = config.bind
    assert bind.managers is None
    assert bind.providers.rtmp.port == Port(1935, "tcp")
    assert bind.providers.srt.port.ports == [9999]
    assert bind.providers.mpegts.port == RangedPort([4000], "udp")
    assert bind.providers.rtspc.worker_count == 1 and bind.providers.ovt.worker_count == 1
    sig = bind.providers.webrtc.signalling
    assert (sig.port, sig.tls_port) == (Port(3333), Port(3334))
    ice = bind.providers.webrtc.ice_candidates
    assert ice.ice_candidate == ["*:10000-10004/udp"]
    assert ice.tcp_relay == ["*:3478"] and ice.tcp_force is True and ice.tcp_relay_worker_count == 1
    assert parse_ice_candidate(ice.ice_candidate[0]) == ("*", RangedPort([10000, 10001, 10002, 10003, 10004], "udp"))
    assert bind.publishers.ovt.port == Port(9000)
    assert (bind.publishers.llhls.port, bind.publishers.llhls.tls_port) == (Port(3333), Port(3334))
    assert bind.publishers.srt.port.ports == [9998]
    assert bind.publishers.hls is None
    # Managers and Alert are commented out; Defaults allow every origin.
    assert config.managers is None and config.alert is None
    assert config.defaults.cross_domains.urls == ["*"]


def test_ome_sample_application():
    config = load_server_config(DATA / "ome_sample")
    # `<VirtualHost include="VHost*.xml" />` matches nothing: fine for a list item.
    assert [v.name for v in config.virtual_hosts] == ["default"]
    vhost = config.virtual_hosts[0]
    assert vhost.distribution == "ovenmediaengine.com"
    assert vhost.host.names == ["*"] and vhost.host.tls is None
    assert vhost.signed_policy is None and vhost.origins is None
    [app] = vhost.applications
    assert (app.name, app.type) == ("app", "live")
    ops = app.output_profiles
    assert ops.decodes.thread_count == 2 and ops.decodes.only_keyframes is False
    assert ops.hwaccels.decoder.enable is False and ops.hwaccels.encoder.enable is False
    [profile] = ops.output_profile
    assert (profile.name, profile.output_stream_name) == ("bypass_stream", "${OriginStreamName}")
    [playlist] = profile.playlists
    assert (playlist.name, playlist.file_name) == ("default", "master")
    assert playlist.options.web_rtc_auto_abr is True
    assert playlist.options.hls_chunklist_path_depth == 0
    assert playlist.options.enable_ts_packaging is True
    assert playlist.options.enable_subtitles is True
    [template] = playlist.rendition_templates
    assert template.name == "${Height}p"
    assert template.video_template.encoding_type == "all" and template.video_template.max_width == -1
    [video] = profile.encodes.videos
    assert (video.name, video.bypass) == ("bypass_video", True)
    aac, opus = profile.encodes.audios
    assert (aac.name, aac.codec, aac.bitrate, aac.samplerate, aac.channel) == ("aac_audio", "aac", 128000, 48000, 2)
    assert aac.bypass_if_match.codec == "eq"
    assert (opus.name, opus.codec) == ("opus_audio", "opus")

    prov = app.providers
    assert prov.ovt is not None and prov.rtmp is not None and prov.srt is not None and prov.rtsp_pull is not None
    assert prov.rtmp.block_duplicate_stream_name is True
    [stream] = prov.mpegts.stream_map
    assert stream.name == "stream_${Port}" and stream.port == RangedPort([4000], "udp")
    assert prov.mpegts.packet_silence_timeout_ms == 1500      # MPEG-TS turns 0 into 1500
    assert prov.webrtc.timeout == 30000 and prov.webrtc.cross_domains.urls == ["*"]
    assert prov.schedule.media_root_dir == "/opt/ovenmediaengine/media"
    assert prov.file is None and prov.multiplex is None

    pub = app.publishers
    assert (pub.app_worker_count, pub.stream_worker_count) == (1, 8)
    assert pub.ovt is not None
    assert pub.webrtc.timeout == 30000 and pub.webrtc.rtx is False and pub.webrtc.create_default_playlist is True
    ll = pub.llhls
    assert (ll.chunk_duration, ll.part_hold_back, ll.segment_duration, ll.segment_count) == (0.5, 1.5, 6.0, 10)
    assert ll.dvr.enable is False and ll.dvr.temp_storage_path == "/tmp/ome_dvr/" and ll.dvr.max_duration == 3600
    assert ll.drm.enable is False and ll.cross_domains.urls == ["*"] and ll.create_default_playlist
    assert (pub.hls.segment_count, pub.hls.segment_duration) == (4, 4.0)
    assert pub.push is None and pub.file is None and pub.thumbnail is None


def test_ome_sample_echo_is_strings_as_written():
    config = load_server_config(DATA / "ome_sample")
    vhost = config.virtual_hosts[0]
    assert vhost.source_json == {"name": "default", "distribution": "ovenmediaengine.com", "host": {"names": ["*"]}}
    src = vhost.applications[0].source_json
    assert src["providers"] == {
        "ovt": {}, "rtmp": {}, "srt": {},
        "mpegts": {"streams": [{"name": "stream_${Port}", "port": "4000"}]},
        "rtspPull": {},
        "webrtc": {"timeout": "30000", "crossDomains": {"urls": ["*"]}},
        "schedule": {"mediaRootDir": "/opt/ovenmediaengine/media", "scheduleFilesDir": "/opt/ovenmediaengine/media"},
    }
    assert src["publishers"]["llhls"]["dVR"] == {"enable": "false", "tempStoragePath": "/tmp/ome_dvr/",
                                                 "maxDuration": "3600"}
    assert src["publishers"]["llhls"]["dRM"] == {"enable": "false", "infoFile": "path/to/file.xml"}
    assert src["publishers"]["appWorkerCount"] == "1"
    profile = src["outputProfiles"]["outputProfile"][0]
    assert profile["playlists"][0]["options"] == {"webRtcAutoAbr": "true", "hLSChunklistPathDepth": "0",
                                                  "enableTsPackaging": "true"}
    assert profile["playlists"][0]["rendition_templates"] == [
        {"name": "${Height}p", "video_template": {"encoding_type": "all"}, "audio_template": {"encoding_type": "all"}}]
    assert profile["encodes"]["audios"][0] == {"name": "aac_audio", "codec": "aac", "bitrate": "128000",
                                               "samplerate": "48000", "channel": "2", "bypassIfMatch": {"codec": "eq"}}
    assert src["outputProfiles"]["hwaccels"] == {"decoder": {"enable": "false"}, "encoder": {"enable": "false"}}


def test_ome_sample_with_included_vhost(tmp_path):
    shutil.copy(DATA / "ome_sample" / "Server.xml", tmp_path / "Server.xml")
    (tmp_path / "VHost1.xml").write_text(
        "<VirtualHost><Name>extra</Name><Host><Names><Name>extra.example.com</Name></Names></Host>"
        "<Applications><Application><Name>live</Name><Type>live</Type></Application></Applications></VirtualHost>")
    config = load_server_config(tmp_path)
    assert [v.name for v in config.virtual_hosts] == ["extra", "default"]
    assert config.virtual_hosts[0].applications[0].name == "live"


def test_container_origin_defaults(monkeypatch):
    for name in ("OME_RTMP_PROV_PORT", "OME_SRT_PROV_PORT", "OME_MPEGTS_PROV_PORT", "OME_WEBRTC_SIGNALLING_PORT",
                 "OME_WEBRTC_SIGNALLING_TLS_PORT", "OME_HOST_IP", "OME_WEBRTC_CANDIDATE_PORT",
                 "OME_WEBRTC_TCP_RELAY_PORT", "OME_ORIGIN_PORT", "OME_LLHLS_STREAM_PORT", "OME_LLHLS_STREAM_TLS_PORT"):
        monkeypatch.delenv(name, raising=False)
    config = load_server_config(DATA / "ome_origin" / "Server.xml")
    prov = config.bind.providers
    assert prov.rtmp.port == Port(1935) and prov.srt.port.ports == [9999]
    assert prov.mpegts.port == RangedPort([4000, 4001, 4002, 4003, 4004, 4005], "udp")
    assert prov.webrtc.signalling.port == Port(3333) and prov.webrtc.signalling.tls_port == Port(3334)
    assert prov.webrtc.ice_candidates.ice_candidate == ["*:10000-10004/udp"]
    assert prov.webrtc.ice_candidates.tcp_relay == ["*:3478"]
    pub = config.bind.publishers
    assert pub.ovt.port == Port(9000) and pub.llhls.port == Port(3333) and pub.llhls.tls_port == Port(3334)
    app = config.virtual_hosts[0].applications[0]
    # Unnamed encodes are named internally, but GET shows them unnamed.
    encodes = app.output_profiles.output_profile[0].encodes
    assert [a.name for a in encodes.audios] == ["audio_0", "audio_1"] and encodes.videos[0].name == "video_0"
    echoed = app.source_json["outputProfiles"]["outputProfile"][0]["encodes"]
    assert echoed["videos"] == [{"bypass": "true"}]
    assert "name" not in echoed["audios"][1]
    assert app.providers.mpegts.stream_map[0].port.ports == [4000, 4001, 4002, 4003, 4004, 4005]


def test_container_origin_env_overrides(monkeypatch):
    monkeypatch.setenv("OME_RTMP_PROV_PORT", "11935")
    monkeypatch.setenv("OME_HOST_IP", "10.0.0.5")
    monkeypatch.setenv("OME_WEBRTC_CANDIDATE_PORT", "20000-20001/udp")
    config = load_server_config(DATA / "ome_origin")
    assert config.bind.providers.rtmp.port == Port(11935)
    assert config.bind.providers.webrtc.ice_candidates.ice_candidate == ["10.0.0.5:20000-20001/udp"]


def test_container_edge(monkeypatch):
    for name in ("DEFAULT_ORIGIN_SERVER", "DEFAULT_ORIGIN_PORT", "SIGNED_URL_CRYPTO_KEY", "SIGNED_POLICY_PROVIDERS",
                 "SIGNED_POLICY_PUBLISHERS", "OME_WEBRTC_CANDIDATE_PORT", "OME_HOST_IP", "OME_SIGNALLING_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFAULT_ORIGIN_SERVER", "origin.example.com")
    config = load_server_config(DATA / "ome_edge")
    assert config.type == "edge"
    assert config.bind.publishers.webrtc.ice_candidates.ice_candidate == ["*:10005-10009/udp"]
    assert config.bind.publishers.webrtc.signalling.port == Port(3333)
    vhost = config.virtual_hosts[0]
    assert vhost.signed_policy.secret_key == "aKq#1kj"
    assert vhost.signed_policy.enables.providers == "" and vhost.signed_policy.enables.publishers == "webrtc,llhls"
    [origin] = vhost.origins.origin
    assert origin.location == "/" and origin.pass_.scheme == "ovt"
    assert origin.pass_.urls == ["origin.example.com:9000"] and origin.pass_.forward_query_params is True
    assert vhost.origins.properties.retry_count == 1 and vhost.origins.properties.stream_failback_timeout == 3000
    # The template app is kept in applications; env macros stay unexpanded in the echo.
    assert vhost.template is vhost.applications[0] and vhost.template.name == "*"
    assert vhost.source_json["origins"]["origin"][0]["pass"]["urls"] == {
        "url": ["${env:DEFAULT_ORIGIN_SERVER:}:${env:DEFAULT_ORIGIN_PORT:9000}"]}
    assert vhost.source_json["signedPolicy"]["secretKey"] == "${env:SIGNED_URL_CRYPTO_KEY:aKq#1kj}"


def test_shipped_conf_server_xml():
    config = load_server_config(ROOT / "conf")
    assert (config.version, config.name, config.type, config.ip) == (8, "OvenMediaEngine", "origin", ["*"])
    api = config.bind.managers.api
    assert api.port == Port(8081, "tcp") and api.tls_port is None
    assert config.managers.host.names == ["*"]
    assert config.managers.api.access_token == "ome-access-token"
    storage = config.managers.api.storage
    assert storage.enabled is True and storage.path == str(ROOT / "conf" / "api_data") and storage.redis is None
    prov = config.bind.providers
    assert prov.rtmp.port == Port(1935) and prov.srt.port.ports == [9999]
    assert prov.mpegts.port == RangedPort([4000], "udp")
    assert config.bind.publishers.llhls.port == Port(3333)
    [vhost] = config.virtual_hosts
    assert vhost.name == "default" and vhost.host.names == ["*"]
    [app] = vhost.applications
    assert (app.name, app.type) == ("app", "live")
    assert app.providers.rtmp and app.providers.srt and app.providers.mpegts
    assert [v.bypass for v in app.output_profiles.output_profile[0].encodes.videos] == [True]
    ll = app.publishers.llhls
    assert (ll.chunk_duration, ll.segment_duration, ll.segment_count, ll.cross_domains.urls) == (0.5, 6.0, 10, ["*"])


def test_server_xml_example_loads(monkeypatch):
    monkeypatch.delenv("OME_REDIS_URL", raising=False)
    config = load_server_config(ROOT / "Server.xml.example")
    assert config.version == 8
    assert config.virtual_hosts, "the example declares virtual hosts"


@pytest.mark.parametrize("conf", ["ome_sample", "ome_origin", "ome_edge"])
def test_every_echo_is_strings_only(conf):
    """XML-sourced echoes hold strings, dicts and lists only (never typed values)."""
    config = load_server_config(DATA / conf)

    def walk(node):
        if isinstance(node, dict):
            return all(walk(v) for v in node.values())
        if isinstance(node, list):
            return all(walk(v) for v in node)
        return type(node) is str

    for vhost in config.virtual_hosts:
        assert walk(vhost.source_json)
        for app in vhost.applications:
            assert walk(app.source_json)


def test_server_xml_example_documents_every_element(monkeypatch):
    """Every element the model tree declares appears (active, so validated) in Server.xml.example.

    A field counts once per declaring class: <CrossDomains><Header> shown under the API covers every
    CrossDomains, the common provider children shown on one provider cover them all.
    """
    from ome.config.server import ServerConfig
    from ome.config.spec import model_spec

    monkeypatch.delenv("OME_REDIS_URL", raising=False)
    config = load_server_config(ROOT / "Server.xml.example")
    declared: dict[tuple[type, str], str] = {}
    seen: set[tuple[type, str]] = set()

    def owner(cls, name):
        return next(k for k in cls.__mro__ if name in getattr(k, "__annotations__", {}))

    def walk(cls, nodes: list[dict], path: str) -> None:
        for f in model_spec(cls).fields:
            key = (owner(cls, f.name), f.name)
            declared.setdefault(key, f"{path}.{f.xml}")
            values = [n[f.json] for n in nodes if f.json in n]
            if values:
                seen.add(key)
            if f.kind == "model":
                walk(f.typ, values, f"{path}.{f.xml}")
            elif f.kind == "list" and f.item_is_model:
                items = [item for v in values for item in (v[f.item_json] if f.shape == "wrapped" else v)]
                walk(f.typ, items, f"{path}.{f.xml}" + (f".{f.item}" if f.shape != "direct" else ""))

    walk(ServerConfig, [config.source_json], "Server")
    from ome.config.output_profiles import VideoBypassIfMatch
    always_rejected = {(VideoBypassIfMatch, "bitrate")}   # "BypassIfMatch.Bitrate is not yet supported"
    missing = sorted(path for key, path in declared.items() if key not in seen and key not in always_rejected)
    assert missing == []
    app = config.virtual_hosts[0].applications[0]
    assert app.publishers.push is not None and app.publishers.rtmp_push is not None
    assert config.managers.api.storage.redis.key_prefix == "ome:OvenMediaEngine"

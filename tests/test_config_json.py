"""API JSON: the same model tree as Server.xml, types kept in the echo, OME's error paths (§7, §9)."""
from __future__ import annotations

import copy
import json

import pytest

from ome.config import (ApplicationConfig, ConfigError, RangedPort, VirtualHostConfig, load_server_config,
                        parse_application_json, parse_virtual_host_json)

# The POST-app defaults of the reference §4.2 (what the API fills in).
DEFAULT_APP = {
    "name": "app", "type": "live",
    "providers": {"ovt": {}, "rtmp": {}, "rtspPull": {}, "srt": {}, "webrtc": {}},
    "publishers": {"llhls": {}, "ovt": {}, "webrtc": {}},
    "outputProfiles": {"outputProfile": [{
        "encodes": {
            "audios": [
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "opus", "name": "opus",
                 "samplerate": 48000},
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "aac", "name": "aac",
                 "samplerate": 48000}],
            "videos": [{"bypass": True, "name": "bypass_video"}]},
        "name": "default", "outputStreamName": "${OriginStreamName}"}]},
}


def config_error(fn, obj) -> str:
    with pytest.raises(ConfigError) as info:
        fn(obj)
    assert info.value.file is None and info.value.line is None   # JSON errors carry no location
    return str(info.value)


def test_post_app_defaults_parse_and_echo_as_given():
    body = copy.deepcopy(DEFAULT_APP)
    app = parse_application_json(body)
    assert isinstance(app, ApplicationConfig)
    assert app.source_json == DEFAULT_APP
    assert app.source_json is not app.source_json            # a fresh copy each time
    assert app.providers.webrtc.timeout == 30000 and app.providers.mpegts is None
    assert app.publishers.llhls.chunk_duration == 0.5 and app.publishers.llhls.segment_count == 5
    opus, aac = app.output_profiles.output_profile[0].encodes.audios
    assert (opus.codec, opus.bitrate, opus.samplerate, opus.channel) == ("opus", 128000, 48000, 2)
    assert app.output_profiles.output_profile[0].encodes.videos[0].bypass is True


def test_types_are_kept_and_converted_leniently():
    app = parse_application_json({
        "name": 123, "type": "live",
        "providers": {"webrtc": {"timeout": "45000"}, "rtmp": {"blockDuplicateStreamName": "FALSE"},
                      "srt": {"blockDuplicateStreamName": 0}},
        "publishers": {"llhls": {"chunkDuration": "1", "segmentCount": 3.0, "createDefaultPlaylist": 0},
                       "appWorkerCount": True},
    })
    assert app.name == "123"
    assert app.providers.webrtc.timeout == 45000
    assert app.providers.rtmp.block_duplicate_stream_name is False
    assert app.providers.srt.block_duplicate_stream_name is False
    llhls = app.publishers.llhls
    assert llhls.chunk_duration == 1.0 and llhls.segment_count == 3 and llhls.create_default_playlist is False
    assert app.publishers.app_worker_count == 0          # JSON true through its string form "true" -> int 0
    assert app.source_json["name"] == 123 and app.source_json["publishers"]["llhls"]["segmentCount"] == 3.0


def test_required_fields():
    assert config_error(parse_application_json, {"type": "live"}) == "application.name is not optional"
    assert config_error(parse_application_json, {"name": "a"}) == "application.type is not optional"
    assert config_error(parse_virtual_host_json, {"host": {"names": ["*"]}}) == "virtualHost.name is not optional"
    body = {"name": "a", "type": "live", "outputProfiles": {"outputProfile": [{"outputStreamName": "x"}]}}
    assert config_error(parse_application_json, body) == "outputProfile.name is not optional"
    body = {"name": "v", "origins": {"origin": [{"location": "/a/", "pass": {"urls": {"url": ["h:1"]}}}]}}
    assert config_error(parse_virtual_host_json, body) == "origin.pass.scheme is not optional"


def test_required_children_of_present_optional_parents_are_not_enforced():
    vhost = parse_virtual_host_json({"name": "v", "host": {"tls": {}}, "signedPolicy": {},
                                     "originMapStore": {}, "admissionWebhooks": {"timeout": 10}})
    assert vhost.host.names == [] and vhost.host.tls.cert_path == ""
    assert vhost.signed_policy.enables is None and vhost.admission_webhooks.timeout == 10
    app = parse_application_json({"name": "a", "type": "live", "providers": {"schedule": {}},
                                  "transcodeWebhook": {}})
    assert app.providers.schedule.media_root_dir == "" and app.transcode_webhook.enable is False


def test_unknown_keys():
    body = {"name": "a", "type": "live", "providers": {"foo": {}}}
    assert config_error(parse_application_json, body) == "Unknown item found: application.providers.foo"
    assert config_error(parse_application_json, {"name": "a", "type": "live", "dynamic": False}) == \
        "Unknown item found: application.dynamic"
    assert config_error(parse_virtual_host_json, {"name": "v", "Name": "w"}) == "Unknown item found: virtualHost.Name"
    body = {"name": "a", "type": "live", "outputProfiles": {"outputProfile": [
        {"name": "p", "outputStreamName": "x", "encodes": {"video": []}}]}}
    assert config_error(parse_application_json, body) == "Unknown item found: outputProfile.encodes.video"
    body = {"name": "v", "origins": {"origin": [{"location": "/", "pass": {"scheme": "ovt",
                                                                            "urls": {"url": [], "x": 1}}}]}}
    assert config_error(parse_virtual_host_json, body) == "Unknown item found: origin.pass.urls.x"


def test_dollar_key_is_allowed():
    app = parse_application_json({"$": {"version": "1"}, "name": "a", "type": "live", "providers": {"$": {}}})
    assert app.name == "a" and app.source_json["$"] == {"version": "1"}


def test_null_means_absent():
    app = parse_application_json({"name": "a", "type": "live", "providers": {"webrtc": None, "rtmp": {}},
                                  "publishers": None})
    assert app.providers.webrtc is None and app.providers.rtmp is not None and app.publishers is None
    assert app.source_json == {"name": "a", "type": "live", "providers": {"rtmp": {}}}


def test_wrong_json_shapes():
    assert config_error(parse_application_json, []) == "application must be an object"
    assert config_error(parse_application_json, {"name": "a", "type": "live", "providers": []}) == \
        "application.providers must be an object"
    assert config_error(parse_virtual_host_json, {"name": "v", "host": {"names": "*"}}) == \
        "virtualHost.host.names must be an array"
    assert config_error(parse_application_json, {"name": {"x": 1}, "type": "live"}) == \
        "application.name must be a value"


def test_vhost_with_nested_applications_and_template():
    body = {"name": "v", "distribution": "d", "host": {"names": ["a.com", "*"]},
            "applications": [{"name": "*", "type": "live"}, {"name": "a", "type": "live"}]}
    vhost = parse_virtual_host_json(copy.deepcopy(body))
    assert isinstance(vhost, VirtualHostConfig)
    assert [a.name for a in vhost.applications] == ["*", "a"] and vhost.template.name == "*"
    assert vhost.source_json == {"name": "v", "distribution": "d", "host": {"names": ["a.com", "*"]}}
    assert vhost.applications[1].source_json == {"name": "a", "type": "live"}
    assert parse_virtual_host_json({"name": "v"}).distribution == "ovenmediaengine.com"
    err = config_error(parse_virtual_host_json, {"name": "v", "applications": [{"name": "a"}]})
    assert err == "application.type is not optional"


def test_seed_vhost_example():
    body = {
        "name": "vhost",
        "host": {"names": ["ome-dev.airensoft.com", "prod.airensoft.com"],
                 "tls": {"certPath": "/etc/pki/a.crt", "chainCertPath": "/etc/pki/a.ca-bundle", "keyPath": "/etc/pki/a.key"}},
        "signedPolicy": {"enables": {"providers": "rtmp,webrtc,srt", "publishers": "webrtc,llhls"},
                         "policyQueryKeyName": "policy", "secretKey": "aKq#1kj", "signatureQueryKeyName": "signature"},
        "admissionWebhooks": {"controlServerUrl": "https://control.server/admission",
                              "enables": {"providers": "rtmp,webrtc,srt", "publishers": "webrtc,llhls"},
                              "secretKey": "", "timeout": 3000},
        "origins": {"origin": [{"location": "/app/rtsp", "pass": {"scheme": "rtsp",
                                                                  "urls": {"url": ["rtsp.server:8554/ca-01"]}}}]},
        "originMapStore": {"originHostName": "ome-dev.airensoft.com",
                           "redisServer": {"auth": "!@#ovenmediaengine", "host": "redis.server:6379"}},
    }
    vhost = parse_virtual_host_json(copy.deepcopy(body))
    assert vhost.source_json == body
    assert vhost.host.tls.key_path == "/etc/pki/a.key"
    assert vhost.signed_policy.enables.publishers == "webrtc,llhls"
    assert vhost.origins.origin[0].pass_.urls == ["rtsp.server:8554/ca-01"]
    assert vhost.origin_map_store.redis_server.host == "redis.server:6379"


# -- §9: the same app in XML and JSON ---------------------------------------------
APP_XML = """
<Application><Name>app</Name><Type>live</Type>
  <OutputProfiles>
    <HWAccels><Encoder><Enable>true</Enable><Modules>nv</Modules></Encoder></HWAccels>
    <OutputProfile><Name>abr</Name><OutputStreamName>${OriginStreamName}</OutputStreamName>
      <Encodes>
        <Video><Name>720p</Name><Codec>h264</Codec><Bitrate>2M</Bitrate><Width>1280</Width><Height>720</Height>
          <KeyFrameInterval>60</KeyFrameInterval><BFrames>0</BFrames><Preset>faster</Preset></Video>
        <Audio><Name>aac</Name><Codec>aac</Codec><Bitrate>128000</Bitrate><BypassIfMatch><Codec>eq</Codec></BypassIfMatch></Audio>
      </Encodes>
      <Playlist><Name>abr</Name><FileName>abr</FileName><Options><WebRtcAutoAbr>true</WebRtcAutoAbr></Options>
        <Rendition><Name>720p</Name><Video>720p</Video><Audio>aac</Audio></Rendition></Playlist>
    </OutputProfile>
  </OutputProfiles>
  <Providers><RTMP/><WebRTC><Timeout>30000</Timeout><CrossDomains><Url>*</Url></CrossDomains></WebRTC>
    <MPEGTS><StreamMap><Stream><Name>stream_${Port}</Name><Port>4000</Port></Stream></StreamMap></MPEGTS></Providers>
  <Publishers><LLHLS><ChunkDuration>0.5</ChunkDuration><DVR><Enable>true</Enable></DVR></LLHLS></Publishers>
</Application>
"""

APP_JSON = {
    "name": "app", "type": "live",
    "outputProfiles": {
        "hwaccels": {"encoder": {"enable": True, "modules": "nv"}},
        "outputProfile": [{
            "name": "abr", "outputStreamName": "${OriginStreamName}",
            "encodes": {
                "videos": [{"name": "720p", "codec": "h264", "bitrate": "2M", "width": 1280, "height": 720,
                            "keyFrameInterval": 60, "bFrames": 0, "preset": "faster"}],
                "audios": [{"name": "aac", "codec": "aac", "bitrate": 128000, "bypassIfMatch": {"codec": "eq"}}]},
            "playlists": [{"name": "abr", "fileName": "abr", "options": {"webRtcAutoAbr": True},
                           "renditions": [{"name": "720p", "video": "720p", "audio": "aac"}]}],
        }]},
    "providers": {"rtmp": {}, "webrtc": {"timeout": 30000, "crossDomains": {"urls": ["*"]}},
                  "mpegts": {"streams": [{"name": "stream_${Port}", "port": "4000"}]}},
    "publishers": {"llhls": {"chunkDuration": 0.5, "dVR": {"enable": True}}},
}


def stringify(node):
    """What the XML echo of a JSON tree looks like: every scalar as written in XML."""
    if isinstance(node, dict):
        return {k: stringify(v) for k, v in node.items()}
    if isinstance(node, list):
        return [stringify(v) for v in node]
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _xml_app(tmp_path) -> ApplicationConfig:
    (tmp_path / "Server.xml").write_text(
        '<Server version="8"><Type>origin</Type><IP>*</IP><Bind/><VirtualHosts><VirtualHost><Name>v</Name>'
        f"<Applications>{APP_XML}</Applications></VirtualHost></VirtualHosts></Server>")
    return load_server_config(tmp_path).virtual_hosts[0].applications[0]


def test_worked_example_xml_and_json_are_one_model(tmp_path):
    xml_app = _xml_app(tmp_path)
    json_app = parse_application_json(copy.deepcopy(APP_JSON))
    # XML echo: same keys and shapes, values as strings; JSON echo: as given.
    assert xml_app.source_json == stringify(APP_JSON)
    assert json_app.source_json == APP_JSON
    # Same typed result either way.
    assert xml_app.model_dump() == json_app.model_dump()
    video = json_app.output_profiles.output_profile[0].encodes.videos[0]
    assert (video.bitrate, video.width, video.key_frame_interval, video.preset) == (2 * 1024 * 1024, 1280, 60, "faster")
    assert json_app.output_profiles.hwaccels.encoder.enable is True
    assert json_app.publishers.llhls.dvr.enable is True
    assert json_app.providers.mpegts.stream_map[0].port == RangedPort([4000], "udp")
    rendition = json_app.output_profiles.output_profile[0].playlists[0].renditions[0]
    assert (rendition.name, rendition.video, rendition.audio) == ("720p", "720p", "aac")


def test_xml_echo_serializes_like_ome(tmp_path):
    echoed = json.dumps(_xml_app(tmp_path).source_json, sort_keys=True, separators=(",", ":"))
    assert '"bitrate":"128000"' in echoed and '"webRtcAutoAbr":"true"' in echoed
    assert '"mpegts":{"streams":[{"name":"stream_${Port}","port":"4000"}]}' in echoed
    assert '"dVR":{"enable":"true"}' in echoed


def test_unnamed_encodes_stay_unnamed_in_json_echo():
    body = {"name": "a", "type": "live", "outputProfiles": {"outputProfile": [{
        "name": "p", "outputStreamName": "o",
        "encodes": {"videos": [{"bypass": True}, {"bypass": True}], "audios": [{"bypass": True}],
                    "images": [{"codec": "jpeg"}]}}]}}
    app = parse_application_json(copy.deepcopy(body))
    encodes = app.output_profiles.output_profile[0].encodes
    assert [v.name for v in encodes.videos] == ["video_0", "video_1"]
    assert encodes.audios[0].name == "audio_0" and encodes.images[0].name == "image_0"
    assert app.source_json == body


def test_full_app_sections_from_json():
    body = {
        "name": "a", "type": "vod",
        "providers": {
            "rtmp": {"eventGenerator": {"event": [{"trigger": "AMFTextData:onTextData",
                                                   "hLSID3v2": {"eventType": "video", "frameType": "TXXX",
                                                                "info": "i", "data": "d"}}]},
                     "passthroughOutputProfile": True},
            "srt": {"audioMap": {"item": [{"name": "en", "language": "en", "characteristics": "public.main"}]}},
            "file": {"rootPath": "/r", "streamMap": {"stream": [{"name": "s", "path": "a.mp4"}]}},
            "multiplex": {"muxFilesDir": "/m"}, "ovt": {}, "rtsp": {},
        },
        "publishers": {
            "hls": {"dumps": {"dump": [{"enable": True, "targetStreamName": "s*", "outputPath": "/d",
                                        "playlists": {"playlist": ["llhls.m3u8"]}}]},
                    "cacheControl": {"segmentMaxAge": 10},
                    "defaultQueryString": {"queries": [{"key": "k", "value": "v"}]}},
            "llhls": {"dRM": {"enable": True, "infoFile": "drm.xml"}, "partHoldBack": 0, "chunkDuration": 0.4},
            "file": {"filePath": "/f", "streamMap": {"enable": True, "path": "m.xml"}, "record": {"enable": False},
                     "recordInfo": "r.xml"},
            "push": {"connectionTimeout": 5, "sendTimeout": 6}, "thumbnail": {"crossDomains": {"urls": ["*"]}},
            "webrtc": {"playoutDelay": {"min": 0, "max": 100}, "bandwidthEstimation": "remb"},
            "srt": {}, "ovt": {}, "delayBufferTimeMs": 200,
        },
        "outputProfiles": {
            "mediaOptions": {"subtitles": {"enable": True, "defaultLabel": "en", "rendition": [
                {"label": "en", "language": "en", "transcription": {"engine": "whisper", "model": "m.bin"}}]},
                "overlays": {"enable": True, "path": "/o"}},
            "decodes": {"threadCount": 4},
            "outputProfile": [],
        },
        "persistentStreams": {"stream": [{"name": "p"}]},
        "transcodeWebhook": {"enable": True, "controlServerUrl": "http://c", "secretKey": "k"},
        "eventGenerator": {"enable": True, "path": "e.xml"},
        "decodes": {"video": {"hardwareAcceleration": True}},
    }
    app = parse_application_json(copy.deepcopy(body))
    assert app.source_json == body
    prov, pub = app.providers, app.publishers
    event = prov.rtmp.event_generator[0]
    assert event.trigger == "AMFTextData:onTextData" and event.hls_id3v2.frame_type == "TXXX"
    assert prov.srt.audio_map[0].characteristics == "public.main"
    assert prov.file.stream_map[0].path == "a.mp4" and prov.multiplex.mux_files_dir == "/m"
    dump = pub.hls.dumps[0]
    assert dump.playlists == ["llhls.m3u8"] and len(dump.id) == 8 and dump.id.isalnum()
    assert pub.hls.cache_control.segment_max_age == 10 and pub.hls.cache_control.chunklist_with_directives_max_age == 60
    assert pub.hls.default_query_string.queries[0].value == "v"
    assert pub.llhls.drm.enable and pub.llhls.effective_part_hold_back == pytest.approx(1.2)
    assert pub.file.stream_map.enable and pub.file.record_info == "r.xml"
    assert (pub.push.connection_timeout, pub.push.send_timeout) == (5, 6)
    assert pub.webrtc.playout_delay.max == 100 and pub.webrtc.bandwidth_estimation == "remb"
    assert pub.delay_buffer_time_ms == 200
    subtitles = app.output_profiles.media_options.subtitles
    assert subtitles.rendition[0].transcription.source_language == "auto"
    assert app.output_profiles.media_options.overlays.path == "/o"
    assert app.output_profiles.decodes.thread_count == 4 and app.output_profiles.decodes.only_keyframes is False
    assert app.persistent_streams[0].origin_stream_name == "*"
    assert app.transcode_webhook.timeout == 1500 and app.transcode_webhook.use_local_profiles_on_connection_failure
    assert app.event_generator.path == "e.xml" and app.decodes.video.hardware_acceleration is True
    assert app.decodes.h264_has_bframes == 16


def test_model_owns_its_source_and_is_set_means_written():
    body = {"name": "a", "type": "live", "providers": {"mpegts": {}},
            "outputProfiles": {"outputProfile": [{"name": "p", "outputStreamName": "o",
                                                  "encodes": {"videos": [{"bypass": True}]}}]}}
    app = parse_application_json(body)
    body["providers"]["rtmp"] = {}                     # the caller's later edits do not leak in
    assert app.source_json["providers"] == {"mpegts": {}}
    mpegts = app.providers.mpegts
    assert mpegts.packet_silence_timeout_ms == 1500 and not mpegts.is_set("packet_silence_timeout_ms")
    video = app.output_profiles.output_profile[0].encodes.videos[0]
    assert video.name == "video_0" and not video.is_set("name") and video.is_set("bypass")


VHOST_XML = """
<VirtualHost><Name>v</Name><Distribution>d</Distribution>
  <Host><Names><Name>*</Name><Name>a.example.com</Name></Names>
    <TLS><CertPath>a.crt</CertPath><KeyPath>a.key</KeyPath></TLS></Host>
  <SignedPolicy><PolicyQueryKeyName>policy</PolicyQueryKeyName><SignatureQueryKeyName>signature</SignatureQueryKeyName>
    <SecretKey>k</SecretKey><Enables><Providers>rtmp</Providers><Publishers>webrtc,llhls</Publishers></Enables></SignedPolicy>
  <Origins><Properties><RetryCount>3</RetryCount></Properties>
    <Origin><Location>/app/</Location><Pass><Scheme>ovt</Scheme><Urls><Url>h:9000/app/</Url></Urls>
      <ForwardQueryParams>false</ForwardQueryParams></Pass><Persistent>true</Persistent></Origin></Origins>
  <OriginMapStore><RedisServer><Host>r:6379</Host><Auth>x</Auth></RedisServer><OriginHostName>o</OriginHostName></OriginMapStore>
</VirtualHost>
"""

VHOST_JSON = {
    "name": "v", "distribution": "d",
    "host": {"names": ["*", "a.example.com"], "tls": {"certPath": "a.crt", "keyPath": "a.key"}},
    "signedPolicy": {"policyQueryKeyName": "policy", "signatureQueryKeyName": "signature", "secretKey": "k",
                     "enables": {"providers": "rtmp", "publishers": "webrtc,llhls"}},
    "origins": {"properties": {"retryCount": 3},
                "origin": [{"location": "/app/", "pass": {"scheme": "ovt", "urls": {"url": ["h:9000/app/"]},
                                                          "forwardQueryParams": False}, "persistent": True}]},
    "originMapStore": {"redisServer": {"host": "r:6379", "auth": "x"}, "originHostName": "o"},
}


def test_worked_example_vhost_xml_and_json(tmp_path):
    (tmp_path / "Server.xml").write_text(
        '<Server version="8"><Type>origin</Type><IP>*</IP><Bind/><VirtualHosts>'
        f"{VHOST_XML}</VirtualHosts></Server>")
    xml_vhost = load_server_config(tmp_path).virtual_hosts[0]
    json_vhost = parse_virtual_host_json(copy.deepcopy(VHOST_JSON))
    assert xml_vhost.source_json == stringify(VHOST_JSON)
    assert json_vhost.source_json == VHOST_JSON
    # TLS paths: as written in JSON; resolved against the file's directory from XML.
    assert json_vhost.host.tls.cert_path == "a.crt"
    assert xml_vhost.host.tls.cert_path == str(tmp_path / "a.crt")
    origin = json_vhost.origins.origin[0]
    assert origin.pass_.forward_query_params is False and origin.persistent is True
    assert json_vhost.origins.properties.retry_count == 3
    assert json_vhost.origins.properties.no_input_failover_timeout == 3000
    xml_dump, json_dump = xml_vhost.model_dump(), json_vhost.model_dump()
    xml_dump["host"]["tls"] = json_dump["host"]["tls"] = None
    assert xml_dump == json_dump

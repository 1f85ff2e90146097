"""Streams (reference §4.4), stream actions (§4.5), records (§4.6), pushes (§4.7), channels (§4.8).

Streams are put into the real registry the way providers do (app.streams[name] = Stream(...));
features that are not built yet answer like OME does when the target is unavailable.
"""
from __future__ import annotations

import re

import pytest

from ome.runtime.registry import Stream
from test_api_support import api, make_api  # noqa: F401  (fixtures)

A = "/v1/vhosts/w/apps/a"
S = A + "/streams/s"


@pytest.fixture
async def wapi(api):
    await api.post("/v1/vhosts", [{"name": "w"}])
    await api.post("/v1/vhosts/w/apps", [
        {"name": "a", "type": "live", "publishers": {"file": {}, "push": {}, "llhls": {}}},
        {"name": "plain", "type": "live", "providers": {"rtmp": {}}, "publishers": {"llhls": {}}},
    ])
    return api


def add_stream(api, app_name="a", name="s", vhost="w", **kw) -> Stream:
    app = api.server.registry.app(vhost, app_name)
    stream = Stream(app=app, name=name, source_type=kw.pop("source_type", "Rtmp"), **kw)
    app.streams[name] = stream
    return stream


# -- streams --------------------------------------------------------------------------------

async def test_list_streams(wapi):
    assert (await wapi.get(A + "/streams")).json["response"] == []
    add_stream(wapi, name="s1")
    add_stream(wapi, name="s2")
    assert (await wapi.get(A + "/streams")).json["response"] == ["s1", "s2"]


async def test_stream_info(wapi):
    s = add_stream(wapi, source_url="rtmp://1.2.3.4/app/s")
    s.outputs["s_720p"] = Stream(app=s.app, name="s_720p", source_type="Transcoder")
    r = await wapi.get(S)
    info = r.json["response"]
    assert info["name"] == "s"
    assert info["input"]["sourceType"] == "Rtmp"
    assert info["input"]["sourceUrl"] == "rtmp://1.2.3.4/app/s"
    assert info["input"]["tracks"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", info["input"]["createdTime"])
    assert info["outputs"] == [{"name": "s_720p", "tracks": []}]


async def test_stream_info_omits_empty_strings(wapi):
    add_stream(wapi, source_url="")
    assert "sourceUrl" not in (await wapi.get(S)).json["response"]["input"]


async def test_missing_stream_text_uses_internal_app_key(wapi):
    r = await wapi.get(S)
    assert r.text == '{"message":"[HTTP] Could not find the stream: [w/#w#a/s] (404)","statusCode":404}'
    r = await wapi.get("/v1/vhosts/default/apps/app/streams/x")
    assert r.message == "[HTTP] Could not find the stream: [default/#default#app/x] (404)"


async def test_stream_names_may_contain_colon(wapi):
    add_stream(wapi, name="a:b")
    assert (await wapi.get(A + "/streams/a:b")).json["response"]["name"] == "a:b"


async def test_delete_stream(wapi):
    stopped = []
    s = add_stream(wapi)

    async def stop():
        stopped.append(True)
    s.stop_callback = stop
    assert (await wapi.delete(S)).text == '{"message":"OK","statusCode":200}'
    assert stopped == [True]
    assert (await wapi.get(A + "/streams")).json["response"] == []
    assert (await wapi.delete(S)).status == 404


@pytest.mark.parametrize("body, text", [
    (None, "Request body must be an object"),
    ([], "Request body must be an object"),
    ({"name": "x"}, "Stream name or urls is required"),
    ({"name": 1, "urls": ["rtsp://h/s"]}, "Stream name or urls is required"),
    ({"name": "x", "urls": "rtsp://h/s"}, "Stream name or urls is required"),
    ({"name": "x", "urls": []}, "Urls must be at least one"),
    ({"name": "x", "urls": ["rtsp://h/s", 5]}, "Url must be a string"),
])
async def test_pull_validation(wapi, body, text):
    r = await wapi.post(A + "/streams", body)
    assert r.json == {"message": f"[HTTP] {text} (400)", "statusCode": 400}


async def test_pull_conflict_and_unavailable(wapi):
    add_stream(wapi, name="taken")
    r = await wapi.post(A + "/streams", {"name": "taken", "urls": ["rtsp://h/s"]})
    assert r.status == 409 and r.message == "[HTTP] Stream already exists (409)"
    r = await wapi.post(A + "/streams?x=1", {"name": "new", "urls": ["rtsp://h/s"]})
    assert r.status == 502 and r.reason == "Bad Gateway"
    assert r.message == f"[HTTP] Could not pull the stream : http://127.0.0.1:{wapi.port}{A}/streams?x=1 (502)"


async def test_pull_through_a_puller(wapi):
    calls = []

    class Puller:
        async def pull(self, app, name, urls, properties):
            calls.append((app.name, name, urls, properties))
            return True

    wapi.server.puller = Puller()
    r = await wapi.post(A + "/streams", {"name": "p", "urls": ["ovt://h:9000/app/s"],
                                         "properties": {"persistent": True, "retryCount": "3",
                                                        "noInputFailoverTimeoutMs": 500}})
    assert r.status == 201 and r.text == '{"message":"Created","statusCode":201}'
    assert calls == [("a", "p", ["ovt://h:9000/app/s"],
                      {"persistent": True, "noInputFailoverTimeoutMs": 500, "retryCount": 1})]


# -- records --------------------------------------------------------------------------------

async def test_record_on_app_without_file_publisher(wapi):
    for action in (":startRecord", ":stopRecord", ":records"):
        r = await wapi.post("/v1/vhosts/w/apps/plain" + action, {"id": "r"})
        assert r.status == 404 and r.message == "[HTTP] Could not find application: [w/plain] (404)"
    r = await wapi.get("/v1/vhosts/w/apps/plain:records")
    assert r.message == "[HTTP] Could not find application: [w/plain] (404)"


@pytest.mark.parametrize("body, text", [
    (None, "There is no required parameter [ id stream.name]"),
    ({"stream": {"name": "s"}}, "There is no required parameter [ id]"),
    ({"id": "r"}, "There is no required parameter [ stream.name]"),
    ({"id": "r", "stream": {"name": "s"}, "interval": 60000, "schedule": "0 */1 *"},
     "[Interval] and [Schedule] cannot be used at the same time"),
    ({"id": "r", "stream": {"name": "s"}, "schedule": "every minute"}, "Invalid [schedule] parameter"),
    ({"id": "r", "stream": {"name": "s"}, "schedule": "0 61 *"}, "Invalid [schedule] parameter"),
    ([1], "Could not parse json context: [w/a]"),
])
async def test_start_record_validation(wapi, body, text):
    r = await wapi.post(A + ":startRecord", body)
    assert r.json == {"message": f"[HTTP] {text} (400)", "statusCode": 400}


async def test_valid_record_without_file_module_is_publisher_not_found(wapi):
    wapi.server.records = None          # the FILE publisher module off
    r = await wapi.post(A + ":startRecord", {"id": "r", "stream": {"name": "s"}, "schedule": "0 0 */1"})
    assert r.status == 404 and r.message == "[HTTP] Could not find publisher: [w/a] (404)"
    assert (await wapi.post(A + ":stopRecord", {})).message == "[HTTP] There is no required parameter [ id] (400)"
    assert (await wapi.post(A + ":stopRecord", {"id": "r"})).message == "[HTTP] Could not find publisher: [w/a] (404)"
    assert (await wapi.post(A + ":records")).message == "[HTTP] Could not find publisher: [w/a] (404)"


async def test_record_service_and_persisted_task(wapi):
    tasks = {}

    class Records:
        async def start(self, app, request):
            if request.id in tasks:
                from ome.api.errors import HttpError
                raise HttpError(400, "Duplicate ID already exists")
            tasks[request.id] = {"id": request.id, "state": "ready", "vhost": app.vhost.name, "app": app.name,
                                 "createdTime": "t", "isConfig": False}
            return tasks[request.id]

        async def stop(self, app, record_id):
            return {**tasks.pop(record_id), "state": "stopping"}

        def list(self, app, record_id):
            return [t for i, t in tasks.items() if record_id in (None, i)]

    wapi.server.records = Records()
    body = {"id": "r1", "stream": {"name": "s", "trackIds": [1]}, "interval": 60000}
    r = await wapi.post(A + ":startRecord", body)
    assert r.status == 200 and r.json["response"]["state"] == "ready"
    assert (await wapi.post(A + ":startRecord", body)).message == "[HTTP] Duplicate ID already exists (400)"
    assert [t["id"] for t in (await wapi.post(A + ":records", {"id": "r1"})).json["response"]] == ["r1"]
    assert len((await wapi.get(A + ":records")).json["response"]) == 1
    assert (await wapi.post(A + ":stopRecord", {"id": "r1"})).json["response"]["state"] == "stopping"
    assert (await wapi.post(A + ":records")).json["response"] == []


# -- pushes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, status, text", [
    ({"id": "p", "protocol": "rtsp"}, 400, "Could not find protocol 'rtsp': [w/a]"),
    ({"id": "p"}, 400, "Could not find protocol '': [w/a]"),
    ({"id": "p", "protocol": "RTMP"}, 400, "There is no required parameter [ stream.name url]"),
    ({"protocol": "srt", "stream": {"name": "s"}, "url": "srt://h:9999"}, 400, "There is no required parameter [ id]"),
    ({"id": "p", "protocol": "rtmp", "stream": {"name": "s"}, "url": "not a url"}, 400, "Could not parse url"),
    ({"id": "p", "protocol": "rtmp", "stream": {"name": "s"}, "url": "srt://h:1"}, 400, "Unsupported protocol"),
    ({"id": "p", "protocol": "srt", "stream": {"name": "s"}, "url": "srt://h:1?mode=listener"}, 400,
     "Unsupported connection mode"),
    ({"id": "p", "protocol": "mpegts", "stream": {"name": "s"}, "url": "rtmp://h/app"}, 400,
     "Unsupported protocol"),
    ({"id": "p", "protocol": "mpegts", "stream": {"name": "s"}, "url": "tcp://h:1?listen"}, 400,
     "Unsupported tcp listen"),
    ({"id": "p", "protocol": "rtmp", "stream": {"name": "s"}, "url": "rtmp://h/app/"}, 404,
     "Could not find publisher: [w/a]"),
    ({"id": "p", "protocol": "srt", "stream": {"name": "s"}, "url": "srt://h:1?mode=caller"}, 404,
     "Could not find publisher: [w/a]"),
])
async def test_start_push_validation(wapi, body, status, text):
    wapi.server.pushes = None           # valid bodies reach the (absent) Push publisher module
    r = await wapi.post(A + ":startPush", body)
    assert r.json == {"message": f"[HTTP] {text} ({status})", "statusCode": status}


async def test_push_on_app_without_push_publisher(wapi):
    r = await wapi.post("/v1/vhosts/w/apps/plain:startPush", {"id": "p", "protocol": "rtmp"})
    assert r.message == "[HTTP] Could not find application: [w/plain] (404)"
    assert (await wapi.post("/v1/vhosts/w/apps/plain:pushes")).json == {"message": "OK", "response": [],
                                                                         "statusCode": 200}
    assert (await wapi.get("/v1/vhosts/w/apps/plain:pushes")).json["response"] == []
    r = await wapi.post("/v1/vhosts/w/apps/plain:stopPush", {"id": "x"})
    assert r.message == "[HTTP] Could not find id 'x': [w/plain] (404)"


async def test_stop_push_needs_id(wapi):
    assert (await wapi.post(A + ":stopPush", {})).message == "[HTTP] There is no required parameter [ id] (400)"
    assert (await wapi.post(A + ":stopPush", "x")).message == "[HTTP] Could not parse json context: [w/a] (400)"


# -- stream actions -------------------------------------------------------------------------

EVENT = {"eventFormat": "id3v2", "eventType": "video",
         "events": [{"frameType": "TXXX", "info": "AirenSoft", "data": "OvenMediaEngine"},
                    {"frameType": "TIT2", "data": "x"}, {"frameType": "priv", "info": "o", "data": "d"}]}


@pytest.mark.parametrize("body, text", [
    (None, "eventFormat(string) and events(array) are required"),
    ({"eventFormat": "id3v2"}, "eventFormat(string) and events(array) are required"),
    ({"eventFormat": "id3v2", "events": []}, "eventFormat(string) and events(array) are required"),
    ({"eventFormat": 1, "events": [{}]}, "eventFormat(string) and events(array) are required"),
    ({"eventFormat": "json", "events": [{}]}, "eventFormat is not supported: [json]"),
    ({"eventFormat": "id3v2", "events": [{"data": "x"}]}, "frameType is required in events"),
    ({"eventFormat": "id3v2", "events": [{"frameType": "APIC"}]}, "frameType is not supported: [APIC]"),
    ({"eventFormat": "cue", "events": [{}]}, "cueType is required in events"),
    ({"eventFormat": "CUE", "events": [{"cueType": "middle"}]}, "cueType is not supported: [middle]"),
    ({"eventFormat": "scte35", "events": [{"spliceCommand": "timeSignal"}]}, "Now only spliceInsert is supported"),
    ({"eventFormat": "scte35", "events": [{"type": "out"}]}, "id is required in events"),
    ({"eventFormat": "scte35", "events": [{"id": -1, "type": "out"}]}, "id is required in events"),
    ({"eventFormat": "scte35", "events": [{"id": 1}]}, "type is required in events"),
    ({"eventFormat": "scte35", "events": [{"id": 1, "type": "sideways"}]}, "type must be 'out' or 'in'"),
    ({**EVENT, "eventType": 5}, "eventType must be string"),
    ({**EVENT, "eventType": "subtitle"}, "eventType is not supported: [subtitle]"),
])
async def test_send_event_validation(wapi, body, text):
    add_stream(wapi)
    r = await wapi.post(S + ":sendEvent", body)
    assert r.json == {"message": f"[HTTP] {text} (400)", "statusCode": 400}


async def test_send_event_targets(wapi):
    r = await wapi.post(S + ":sendEvent", EVENT)
    assert r.message == "[HTTP] Could not find the stream: [w/#w#a/s] (404)"
    stream = add_stream(wapi)
    r = await wapi.post(S + ":sendEvent", EVENT)
    assert r.status == 404 and r.message == "[HTTP] Could not find stream: [w/a/s] (404)"
    received = []
    stream.send_event = lambda request: received.append(request) or True
    for body in (EVENT, {"eventFormat": "cue", "events": [{"cueType": "out", "duration": 60500}]},
                 {"eventFormat": "scte35", "urgent": True,
                  "events": [{"id": 12345, "type": "out", "duration": 1000.0, "autoReturn": True}]}):
        r = await wapi.post(S + ":sendEvent", body)
        assert r.text == '{"message":"OK","statusCode":200}'
    assert [(e.event_format, e.event_type, e.urgent) for e in received] == \
        [("id3v2", "video", False), ("cue", "event", False), ("scte35", "event", True)]
    stream.send_event = lambda request: False
    r = await wapi.post(S + ":sendEvent", EVENT)
    assert r.status == 500 and r.message == "[HTTP] Internal Server Error - Could not inject event: [w/a/s] (500)"


async def test_send_events_batch(wapi):
    stream = add_stream(wapi)
    stream.send_event = lambda request: True
    for body in (None, [], {"eventFormat": "id3v2"}):
        r = await wapi.post(S + ":sendEvents", body)
        assert r.json == {"message": "[HTTP] events(array) is required (400)", "statusCode": 400}
    r = await wapi.post(S + ":sendEvents", [EVENT, {"eventFormat": "xml", "events": [1]}])
    assert r.status == 207
    assert r.json == [{"message": "OK", "statusCode": 200},
                      {"message": "eventFormat is not supported: [xml]", "statusCode": 400}]
    r = await wapi.post(S + ":sendEvents", [EVENT, EVENT])
    assert r.status == 200 and r.json == [{"message": "OK", "statusCode": 200}] * 2


async def test_conclude_hls_live(wapi):
    stream = add_stream(wapi)
    r = await wapi.post(S + ":concludeHlsLive")
    assert r.message == "[HTTP] Could not find stream: [w/a/s] (404)"
    seen = []
    stream.conclude_live = lambda urgent: seen.append(urgent) or True
    assert (await wapi.post(S + ":concludeHlsLive", {"urgent": True})).status == 200
    assert (await wapi.post(S + ":concludeHlsLive")).status == 200
    assert seen == [True, False]
    stream.conclude_live = lambda urgent: False
    r = await wapi.post(S + ":concludeHlsLive")
    assert r.message == "[HTTP] Internal Server Error - Could not inject ConcludeLive event: [w/a/s] (500)"


@pytest.mark.parametrize("body, text", [
    (None, "format(string) and data(array) are required"),
    ({"format": "webvtt", "data": []}, "format(string) and data(array) are required"),
    ({"format": "srt", "data": [{}]}, "format is not supported: [srt]"),
    ({"format": "webvtt", "data": [{"label": "en"}]}, "label(string) and subtitles(array) are required"),
    ({"format": "webvtt", "data": [{"label": "en", "subtitles": []}]},
     "label(string) and subtitles(array) are required"),
    ({"format": "WebVTT", "data": [{"label": "en", "subtitles": [{"durationMs": 5}]}]},
     "text(string) is required in subtitles"),
])
async def test_send_subtitles_validation(wapi, body, text):
    add_stream(wapi)
    r = await wapi.post(S + ":sendSubtitles", body)
    assert r.json == {"message": f"[HTTP] {text} (400)", "statusCode": 400}


async def test_send_subtitles_delivery(wapi):
    stream = add_stream(wapi)
    body = {"format": "webvtt", "data": [{"label": "ko", "subtitles": [
        {"text": "hello", "startOffset": 0, "durationMs": 4000, "settings": "line:90%"}, {"text": "two"}]}]}
    assert (await wapi.post(S + ":sendSubtitles", body)).message == "[HTTP] Could not find stream: [w/a/s] (404)"
    got = []
    stream.send_subtitles = got.append
    assert (await wapi.post(S + ":sendSubtitles", body)).status == 200
    (label, cues), = got[0].tracks
    assert label == "ko" and [(c.text, c.duration_ms) for c in cues] == [("hello", 4000), ("two", 1000)]


async def test_hls_dump_validation_and_targets(wapi):
    stream = add_stream(wapi)
    r = await wapi.post(S + ":startHlsDump", [1])
    assert r.message == "[HTTP] Could not parse json context: [w/a/s] (400)"
    r = await wapi.post(S + ":startHlsDump", {"id": "d", "outputStreamName": "s"})
    assert r.message == "[HTTP] id, outputStreamName and outputPath are required (400)"
    for action in (":hlsDumps", ":stopHlsDump"):
        assert (await wapi.post(S + action, {"id": "d"})).message == "[HTTP] outputStreamName is required (400)"
    body = {"id": "d", "outputStreamName": "s_out", "outputPath": "/tmp/x"}
    r = await wapi.post(S + ":startHlsDump", body)
    assert r.message == "[HTTP] Could not find output stream: [w/a/s_out] (404)"
    stream.outputs["s_out"] = Stream(app=stream.app, name="s_out", source_type="Transcoder")
    r = await wapi.post(S + ":hlsDumps", {"outputStreamName": "s_out"})
    assert r.message == "[HTTP] Could not find LLHLS stream: [w/a/s_out] (404)"


# -- scheduled and multiplex channels -------------------------------------------------------

async def test_channels_need_their_provider(wapi):
    r = await wapi.post(A + "/scheduledChannels", {"stream": {"name": "c"}})
    assert r.status == 403 and r.text == '{"message":"Forbidden","statusCode":403}'
    r = await wapi.post(A + "/multiplexChannels", {"outputStream": {"name": "m"}})
    assert r.status == 403 and r.text == '{"message":"Forbidden","statusCode":403}'
    assert (await wapi.post(A + "/scheduledChannels", [1])).message == "[HTTP] Invalid request body (400)"
    assert (await wapi.get(A + "/scheduledChannels")).json["response"] == []
    assert (await wapi.get(A + "/scheduledChannels/c")).message == "[HTTP] Could not find the stream: [w/#w#a/c] (404)"
    add_stream(wapi, name="c")
    assert (await wapi.delete(A + "/scheduledChannels/c")).message == \
        "[HTTP] Stream is not a scheduled stream (400)"


async def test_channels_without_provider_module(wapi):
    await wapi.post("/v1/vhosts/w/apps", [{"name": "sch", "type": "live", "providers": {
        "schedule": {"mediaRootDir": "/tmp", "scheduleFilesDir": "/tmp"}, "multiplex": {"muxFilesDir": "/tmp"}}}])
    base = "/v1/vhosts/w/apps/sch"
    r = await wapi.post(base + "/scheduledChannels", {"stream": {"name": "c"}})
    assert r.status == 500 and r.message == "[HTTP] Could not get the scheduled provider (500)"
    add_stream(wapi, app_name="sch", name="c", source_type="Scheduled")
    assert (await wapi.get(base + "/scheduledChannels")).json["response"] == ["c"]
    r = await wapi.patch(base + "/scheduledChannels/c", {"stream": {"name": "c"}})
    assert r.message == "[HTTP] Stream object could not be patched (400)"
    r = await wapi.get(base + "/multiplexChannels")
    assert r.message == "[HTTP] Could not get the multiplex provider (500)"


async def test_record_and_push_tasks_survive_an_app_patch_and_end_with_the_app(wapi):
    """PATCH re-creates the app: its tasks are handed over (the storage keeps them); DELETE ends them."""
    r = await wapi.post(A + ":startRecord", {"id": "r1", "stream": {"name": "s"}, "filePath": "p/${Id}.mp4"})
    assert r.status == 200 and r.json["response"]["state"] == "ready"
    r = await wapi.post(A + ":startPush", {"id": "p1", "stream": {"name": "s"}, "protocol": "mpegts",
                                           "url": "udp://127.0.0.1:9"})
    assert r.status == 200 and r.json["response"]["state"] == "ready"
    assert (await wapi.patch(A, {"publishers": {"file": {}, "push": {}, "llhls": {}, "ovt": {}}})).status == 200
    assert [t["id"] for t in (await wapi.post(A + ":records")).json["response"]] == ["r1"]
    assert [t["id"] for t in (await wapi.post(A + ":pushes")).json["response"]] == ["p1"]
    app = wapi.server.registry.app("w", "a")
    assert wapi.server.records.tasks[("w", "a")]["r1"].app is app
    assert wapi.server.pushes.tasks[("w", "a")]["p1"].app is app
    push = wapi.server.pushes.tasks[("w", "a")]["p1"]
    assert (await wapi.delete(A)).status == 200
    assert wapi.server.records.tasks.get(("w", "a")) is None and push.state == "stopped"

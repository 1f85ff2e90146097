"""Virtual hosts (reference §4.1) and applications (§4.2), batches (§2.8), read-only rules (§2.10)."""
from __future__ import annotations

import copy

from test_api_support import api, make_api  # noqa: F401  (fixtures)

V = "/v1/vhosts"
DEFAULTS = {
    "outputProfiles": {"outputProfile": [{
        "encodes": {
            "audios": [
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "opus",
                 "name": "opus", "samplerate": 48000},
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "aac",
                 "name": "aac", "samplerate": 48000}],
            "videos": [{"bypass": True, "name": "bypass_video"}]},
        "name": "default", "outputStreamName": "${OriginStreamName}"}]},
    "providers": {"ovt": {}, "rtmp": {}, "rtspPull": {}, "srt": {}, "webrtc": {}},
    "publishers": {"llhls": {}, "ovt": {}, "webrtc": {}},
}


# -- virtual hosts --------------------------------------------------------------------------

async def test_list_and_get_server_xml_vhost(api):
    assert (await api.get(V)).json["response"] == ["default"]
    r = await api.get(V + "/default")
    assert r.text == '{"message":"OK","response":{"host":{"names":["*"]},"name":"default"},"statusCode":200}'


async def test_get_missing_vhost(api):
    r = await api.get(V + "/nope")
    assert r.text == '{"message":"[HTTP] Could not find the virtual host: [nope] (404)","statusCode":404}'
    assert (await api.get(V + "/")).message == "[HTTP] Could not find the virtual host: [] (404)"


async def test_post_vhosts_bare_array_and_echo_types(api):
    item = {"name": "v1", "distribution": "dist", "host": {"names": ["a.example", "*"]},
            "origins": {"properties": {"retryCount": 3}, "origin": []}}
    r = await api.post(V, [item])
    assert r.status == 200
    assert r.json == [{"message": "OK", "response": item, "statusCode": 200}]
    assert (await api.get(V + "/v1")).json["response"] == item


async def test_vhost_list_order_server_xml_then_creation(api):
    await api.post(V, [{"name": "zz"}, {"name": "aa"}])
    await api.post(V, [{"name": "mm"}])
    assert (await api.get(V)).json["response"] == ["default", "zz", "aa", "mm"]


async def test_post_vhosts_conflict_and_config_errors_in_batch(api):
    r = await api.post(V, [{"name": "ok1"}, {"name": "default"}, {"foo": 1}, {"name": "ok1"}, {}])
    assert r.status == 207 and r.reason == "Multi Status"
    assert r.json == [
        {"message": "OK", "response": {"name": "ok1"}, "statusCode": 200},
        {"message": "The virtual host already exists: [default]", "statusCode": 409},
        {"message": "[Config] Unknown item found: virtualHost.foo", "statusCode": 400},
        {"message": "The virtual host already exists: [ok1]", "statusCode": 409},
        {"message": "[Config] virtualHost.name is not optional", "statusCode": 400},
    ]


async def test_post_vhosts_uniform_status(api):
    r = await api.post(V, [{"name": "default"}, {"name": "default"}])
    assert r.status == 409 and r.reason == "Conflict"
    r = await api.post(V, [{"bad": 1}])
    assert r.status == 400 and r.json == [{"message": "[Config] Unknown item found: virtualHost.bad",
                                          "statusCode": 400}]


async def test_post_vhosts_empty_array(api):
    r = await api.post(V, [])
    assert r.status == 200 and r.text == "[]"


async def test_post_vhosts_body_must_be_array(api):
    for body in ({"name": "x"}, "x", 1):
        r = await api.post(V, body)
        assert r.json == {"message": "[HTTP] Request body must be an array (400)", "statusCode": 400}


async def test_nested_apps_are_created_and_star_becomes_template(api):
    r = await api.post(V, [{"name": "nv", "applications": [
        {"name": "a1", "type": "live"}, {"name": "*", "type": "live"}, {"name": "a2", "type": "live"}]}])
    assert r.json == [{"message": "OK", "response": {"name": "nv"}, "statusCode": 200}]
    assert (await api.get(V + "/nv/apps")).json["response"] == ["a1", "a2"]
    # nested apps are taken as given (no POST defaults)
    assert (await api.get(V + "/nv/apps/a1")).json["response"] == {"dynamic": False, "name": "a1",
                                                                    "type": "live"}
    assert api.server.registry.vhost("nv").template is not None


async def test_failed_nested_app_leaves_no_trace(api):
    r = await api.post(V, [{"name": "bad", "applications": [{"name": "a", "type": "live"},
                                                            {"name": "a", "type": "live"}]}])
    assert r.json == [{"message": "Could not create the application: [bad/a] already exists", "statusCode": 409}]
    assert (await api.get(V)).json["response"] == ["default"]
    r = await api.post(V, [{"name": "bad2", "applications": [{"name": "a", "type": "nope"}]}])
    assert r.json == [{"message": "[Config] Unknown type: nope", "statusCode": 400}]
    assert "bad2" not in api.server.registry.vhosts


async def test_delete_vhost(api):
    await api.post(V, [{"name": "gone", "applications": [{"name": "a", "type": "live"}]}])
    r = await api.delete(V + "/gone")
    assert r.text == '{"message":"OK","statusCode":200}'
    assert (await api.get(V + "/gone")).status == 404
    assert (await api.delete(V + "/gone")).message == "[HTTP] Could not find the virtual host: [gone] (404)"


async def test_server_xml_vhost_is_read_only(api):
    text = "[HTTP] The VirtualHost is read-only: [default] (403)"
    checks = [
        await api.delete(V + "/default"),
        await api.post(V + "/default/apps", [{"name": "x", "type": "live"}]),
        await api.patch(V + "/default/apps/app", {"type": "live"}),
        await api.delete(V + "/default/apps/app"),
        await api.post(V + "/default/apps/app/outputProfiles",
                       [{"name": "p", "outputStreamName": "o", "encodes": {"videos": [{"bypass": True}]}}]),
        await api.patch(V + "/default/apps/app/outputProfiles/bypass_stream", {"outputStreamName": "x"}),
        await api.delete(V + "/default/apps/app/outputProfiles/bypass_stream"),
    ]
    for r in checks:
        assert r.status == 403 and r.reason == "Forbidden", r
        assert r.message == text
    assert (await api.get(V + "/default/apps")).json["response"] == ["app"]


# -- applications ---------------------------------------------------------------------------

async def test_list_and_get_xml_app_strings_as_written(api):
    assert (await api.get(V + "/default/apps")).json["response"] == ["app"]
    app = (await api.get(V + "/default/apps/app")).json["response"]
    assert app["dynamic"] is False
    audio = app["outputProfiles"]["outputProfile"][0]["encodes"]["audios"][0]
    assert audio["bitrate"] == "128000" and audio["channel"] == "2"


async def test_missing_app_texts(api):
    r = await api.get(V + "/default/apps/nope")
    assert r.text == '{"message":"[HTTP] Could not find the application: [default/nope] (404)","statusCode":404}'
    assert (await api.get(V + "/nope/apps")).message == "[HTTP] Could not find the virtual host: [nope] (404)"
    assert (await api.get(V + "/nope/apps/app")).message == "[HTTP] Could not find the virtual host: [nope] (404)"


async def test_post_app_fills_defaults(api):
    await api.post(V, [{"name": "w"}])
    r = await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    expected = {"name": "a", "type": "live", "dynamic": False, **copy.deepcopy(DEFAULTS)}
    assert r.status == 200
    assert r.json == [{"message": "OK", "response": expected, "statusCode": 200}]
    assert (await api.get(V + "/w/apps/a")).json["response"] == expected


async def test_post_app_defaults_are_independent(api):
    await api.post(V, [{"name": "w"}])
    r = await api.post(V + "/w/apps", [{"name": "a", "type": "live", "providers": {"rtmp": {}},
                                        "publishers": {"llhls": {"chunkDuration": 0.5}}}])
    app = r.json[0]["response"]
    assert app["providers"] == {"rtmp": {}}
    assert app["publishers"] == {"llhls": {"chunkDuration": 0.5}}
    assert app["outputProfiles"] == DEFAULTS["outputProfiles"]


async def test_post_apps_batch_conflicts(api):
    await api.post(V, [{"name": "w"}])
    r = await api.post(V + "/w/apps", [{"name": "a", "type": "live"}, {"name": "a", "type": "live"}])
    assert r.status == 207
    assert r.json[1] == {"message": "Could not create the application: [w/a] already exists", "statusCode": 409}
    r = await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    assert r.status == 409


async def test_post_apps_config_error_creates_nothing(api):
    await api.post(V, [{"name": "w"}])
    r = await api.post(V + "/w/apps", [{"name": "ok", "type": "live"}, {"name": "bad", "type": "VOD"}])
    assert r.status == 400
    assert r.text == '{"message":"[Config] Unknown type: VOD","statusCode":400}'
    assert (await api.get(V + "/w/apps")).json["response"] == []
    r = await api.post(V + "/w/apps", [{"name": "x", "type": "live", "dynamic": False}])
    assert r.message == "[Config] Unknown item found: application.dynamic"
    r = await api.post(V + "/w/apps", [{"type": "live"}])
    assert r.message == "[Config] application.name is not optional"


async def test_post_apps_empty_and_not_array(api):
    await api.post(V, [{"name": "w"}])
    assert (await api.post(V + "/w/apps", [])).text == "[]"
    assert (await api.post(V + "/w/apps", {"name": "a"})).message == "[HTTP] Request body must be an array (400)"
    assert (await api.post(V + "/nope/apps", [])).message == "[HTTP] Could not find the virtual host: [nope] (404)"


async def test_app_listing_keeps_creation_order(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": n, "type": "live"} for n in ("c", "a", "b")])
    await api.patch(V + "/w/apps/a", {"publishers": {"ovt": {}}})
    assert (await api.get(V + "/w/apps")).json["response"] == ["c", "a", "b"]


async def test_patch_app_merges_and_recreates(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    before = api.server.registry.app("w", "a")
    r = await api.patch(V + "/w/apps/a", {"providers": {"mpegts": {"streams": [{"name": "s", "port": "4000"}]},
                                                        "rtmp": None},
                                          "publishers": {"llhls": {"chunkDuration": 1.5}}})
    assert r.status == 200
    app = r.json["response"]
    assert app["providers"] == {"ovt": {}, "rtspPull": {}, "srt": {}, "webrtc": {},
                                "mpegts": {"streams": [{"name": "s", "port": "4000"}]}}
    assert app["publishers"] == {"llhls": {"chunkDuration": 1.5}, "ovt": {}, "webrtc": {}}
    assert api.server.registry.app("w", "a") is not before   # re-created
    assert (await api.get(V + "/w/apps/a")).json["response"] == app


async def test_patch_app_forbidden_keys_and_shape(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    for key in ("name", "dynamic", "outputProfiles"):
        r = await api.patch(V + "/w/apps/a", {key: "x", "type": "live"})
        assert r.text == f'{{"message":"[HTTP] Cannot change [{key}] using this API (400)","statusCode":400}}'
    assert (await api.patch(V + "/w/apps/a", [1])).message == "[HTTP] Request body must be an object (400)"
    assert (await api.patch(V + "/w/apps/a")).message == "[HTTP] Request body must be an object (400)"


async def test_patch_app_config_error_changes_nothing(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    before = api.server.registry.app("w", "a")
    r = await api.patch(V + "/w/apps/a", {"providers": {"nope": {}}})
    assert r.status == 400 and r.message == "[Config] Unknown item found: application.providers.nope"
    assert api.server.registry.app("w", "a") is before


async def test_patch_app_failed_recreate_restores_previous(api):
    """Fix: OME loses the app when the re-create fails; we bring the previous one back."""
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])

    class Veto:
        name = "veto"

        async def on_app_created(self, app):
            if app.config.publishers is not None and app.config.publishers.file is not None:
                raise RuntimeError("FILE publisher cannot start")

        async def on_app_deleted(self, app):
            pass

    api.server.registry.add_module(Veto())
    r = await api.patch(V + "/w/apps/a", {"publishers": {"file": {}}})
    assert r.status == 500 and r.message == "[HTTP] Failed to create the application: [w/a] (500)"
    app = (await api.get(V + "/w/apps/a")).json["response"]
    assert "file" not in app["publishers"]


async def test_delete_app(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a", "type": "live"}])
    assert (await api.delete(V + "/w/apps/a")).text == '{"message":"OK","statusCode":200}'
    assert (await api.get(V + "/w/apps/a")).message == "[HTTP] Could not find the application: [w/a] (404)"


async def test_app_names_with_colon_are_unreachable(api):
    await api.post(V, [{"name": "w"}])
    await api.post(V + "/w/apps", [{"name": "a:b", "type": "live"}])
    assert (await api.get(V + "/w/apps")).json["response"] == ["a:b"]
    assert (await api.get(V + "/w/apps/a:b")).message == "[HTTP] Controller not found (404)"


async def test_dynamic_flag_shows_template_created_apps(api):
    await api.post(V, [{"name": "edge", "applications": [{"name": "*", "type": "live"}]}])
    registry = api.server.registry
    vhost = registry.vhost("edge")
    await registry.create_app(vhost, vhost.template, name="pulled", dynamic=True)
    assert (await api.get(V + "/edge/apps")).json["response"] == ["pulled"]
    assert (await api.get(V + "/edge/apps/pulled")).json["response"] == {"dynamic": True, "name": "pulled",
                                                                          "type": "live"}

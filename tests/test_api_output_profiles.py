"""Output profiles (reference §4.3)."""
from __future__ import annotations

import pytest

from test_api_support import api, make_api  # noqa: F401  (fixtures)

A = "/v1/vhosts/w/apps/a"
P = A + "/outputProfiles"
PROFILE = {"name": "p720", "outputStreamName": "${OriginStreamName}_720p",
           "encodes": {"videos": [{"name": "720p", "codec": "h264", "bitrate": "2M", "width": 1280,
                                   "height": 720, "framerate": 29.97}]}}


@pytest.fixture
async def wapi(api):
    await api.post("/v1/vhosts", [{"name": "w"}])
    await api.post("/v1/vhosts/w/apps", [{"name": "a", "type": "live"}])
    return api


async def test_list_and_get(wapi):
    assert (await wapi.get(P)).json["response"] == ["default"]
    r = await wapi.get(P + "/default")
    assert r.json["response"]["outputStreamName"] == "${OriginStreamName}"
    assert (await wapi.get("/v1/vhosts/default/apps/app/outputProfiles")).json["response"] == ["bypass_stream"]


async def test_get_missing_profile(wapi):
    r = await wapi.get(P + "/nope")
    assert r.text == ('{"message":"[HTTP] Could not find the output profile: [w/a/nope] (404)",'
                      '"statusCode":404}')


async def test_post_profile_keeps_types_and_float_format(wapi):
    r = await wapi.post(P, [PROFILE])
    assert r.status == 200
    assert r.json == [{"message": "OK", "response": PROFILE, "statusCode": 200}]
    assert '"framerate":29.969999999999999' in r.text
    assert (await wapi.get(P)).json["response"] == ["default", "p720"]
    assert (await wapi.get(P + "/p720")).json["response"] == PROFILE


async def test_post_profiles_conflicts_207(wapi):
    r = await wapi.post(P, [PROFILE, {**PROFILE}, {**PROFILE, "name": "default"}])
    assert r.status == 207
    assert r.json[1] == {"message": 'The output profile "p720" already exists', "statusCode": 409}
    assert r.json[2] == {"message": 'The output profile "default" already exists', "statusCode": 409}


async def test_all_failed_items_do_not_recreate_the_app(wapi):
    """Fix: OME re-creates (dropping clients) even when nothing was added."""
    before = wapi.server.registry.app("w", "a")
    r = await wapi.post(P, [{**PROFILE, "name": "default"}])
    assert r.status == 409
    assert r.json == [{"message": 'The output profile "default" already exists', "statusCode": 409}]
    assert wapi.server.registry.app("w", "a") is before


async def test_successful_post_recreates_the_app(wapi):
    before = wapi.server.registry.app("w", "a")
    await wapi.post(P, [PROFILE])
    assert wapi.server.registry.app("w", "a") is not before


async def test_post_empty_array(wapi):
    before = wapi.server.registry.app("w", "a")
    r = await wapi.post(P, [])
    assert r.status == 200 and r.text == "[]"
    assert wapi.server.registry.app("w", "a") is before


@pytest.mark.parametrize("item, text", [
    ({"name": "x", "encodes": {"videos": []}},
     'Invalid request body: "name", "outputStreamName", "encodes" are required'),
    ("not an object", 'Invalid request body: "name", "outputStreamName", "encodes" are required'),
    ({"name": 1, "outputStreamName": "o", "encodes": {}},
     'Invalid request body: "name" must be a string and "encodes" must be an object'),
    ({"name": "x", "outputStreamName": "o", "encodes": []},
     'Invalid request body: "name" must be a string and "encodes" must be an object'),
    ({"name": "x", "outputStreamName": "o", "encodes": {"images": []}},
     'Invalid request body: "encodes" must have at least one item (videos array or audios array)'),
    ({"name": "x", "outputStreamName": "o", "encodes": {"videos": {}}},
     'Invalid request body: "encodes.videos" must be an array'),
    ({"name": "x", "outputStreamName": "o", "encodes": {"audios": "aac"}},
     'Invalid request body: "encodes.audios" must be an array'),
    ({"name": "x", "outputStreamName": "o", "encodes": {"videos": [], "audios": []}},
     'Invalid request body: "encodes" must have at least one item (videos array or audios array) and each '
     'item must have at least one item'),
])
async def test_shape_checks_fail_the_whole_request(wapi, item, text):
    before = wapi.server.registry.app("w", "a")
    r = await wapi.post(P, [PROFILE, item])
    assert r.status == 400
    assert r.json == {"message": f"[HTTP] {text} (400)", "statusCode": 400}
    assert (await wapi.get(P)).json["response"] == ["default"]
    assert wapi.server.registry.app("w", "a") is before


async def test_post_config_error_is_http_wrapped(wapi):
    bad = {"name": "b", "outputStreamName": "o", "encodes": {"videos": [{"codec": "h264"}]}}
    r = await wapi.post(P, [bad])
    assert r.status == 400
    assert r.text == ('{"message":"[HTTP] [Config] Bitrate must be specified when bypass is false (400)",'
                      '"statusCode":400}')
    assert (await wapi.get(P)).json["response"] == ["default"]


async def test_post_not_array(wapi):
    assert (await wapi.post(P, PROFILE)).message == "[HTTP] Request body must be an array (400)"


async def test_patch_replaces_the_whole_profile(wapi):
    await wapi.post(P, [PROFILE])
    r = await wapi.patch(P + "/p720", {"outputStreamName": "new_${OriginStreamName}",
                                       "encodes": {"audios": [{"codec": "opus", "bitrate": 96000}]}})
    expected = {"name": "p720", "outputStreamName": "new_${OriginStreamName}",
                "encodes": {"audios": [{"codec": "opus", "bitrate": 96000}]}}
    assert r.status == 200 and r.json == {"message": "OK", "response": expected, "statusCode": 200}
    assert (await wapi.get(P + "/p720")).json["response"] == expected


async def test_patch_name_key_in_any_case(wapi):
    for key in ("name", "Name", "NAME"):
        r = await wapi.patch(P + "/default", {key: "x"})
        assert r.message == f"[HTTP] The {key} entry cannot be specified in the modification (400)"


async def test_patch_errors(wapi):
    assert (await wapi.patch(P + "/nope", {"outputStreamName": "x"})).message == \
        "[HTTP] Could not find the output profile: [w/a/nope] (404)"
    assert (await wapi.patch(P + "/default", [])).message == "[HTTP] Request body must be an object (400)"
    r = await wapi.patch(P + "/default", {"outputStreamName": "x", "encodes": {"videos": [{"codec": "vp8"}]}})
    assert r.message == "[HTTP] [Config] Bitrate must be specified when bypass is false (400)"
    assert (await wapi.get(P + "/default")).json["response"]["outputStreamName"] == "${OriginStreamName}"


async def test_delete_profile(wapi):
    await wapi.post(P, [PROFILE])
    assert (await wapi.delete(P + "/p720")).text == '{"message":"OK","statusCode":200}'
    assert (await wapi.get(P)).json["response"] == ["default"]
    assert (await wapi.delete(P + "/p720")).message == "[HTTP] Could not find the output profile: [w/a/p720] (404)"


async def test_profile_names_are_not_percent_decoded(wapi):
    await wapi.post(P, [{**PROFILE, "name": "a b"}])
    assert (await wapi.get(P + "/a%20b")).status == 404

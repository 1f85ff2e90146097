"""The HTTP layer: pipeline order, envelope, status lines, routing, body handling (reference §2)."""
from __future__ import annotations

from test_api_support import AUTH, api, make_api  # noqa: F401  (fixtures)

JSON_CT = "application/json;charset=UTF-8"


async def test_every_reply_has_server_header_and_json_content_type(api):
    r = await api.get("/v1/vhosts")
    assert r.status == 200
    assert r.headers["Server"] == "OvenMediaEngine"
    assert r.headers["Content-Type"] == JSON_CT
    assert r.text == '{"message":"OK","response":["default"],"statusCode":200}'


async def test_envelope_without_payload_has_no_response_key(api):
    await api.post("/v1/vhosts", [{"name": "v"}])
    r = await api.delete("/v1/vhosts/v")
    assert r.text == '{"message":"OK","statusCode":200}'


async def test_options_is_204_without_auth_and_without_body(api):
    r = await api.request("OPTIONS", "/v1/vhosts/anything/at/all", auth=False)
    assert r.status == 204
    assert r.body == b""
    assert r.headers["Server"] == "OvenMediaEngine"
    assert r.headers["Content-Type"] == "text/html"
    assert "WWW-Authenticate" not in r.headers


async def test_unknown_path_is_controller_not_found(api):
    for path in ("/v1/nope", "/", "/v2/vhosts", "/v1/vhosts/default/apps/app/unknown", "/v1", "/v1/"):
        r = await api.get(path)
        assert r.status == 404, path
        assert r.text == '{"message":"[HTTP] Controller not found (404)","statusCode":404}'


async def test_wrong_method_is_404_never_405(api):
    for method, path in (("PUT", "/v1/vhosts"), ("DELETE", "/v1/vhosts"), ("PATCH", "/v1/vhosts/default"),
                         ("POST", "/v1/version"), ("GET", "/v1/vhosts/default/apps/app:startRecord"),
                         ("PUT", "/v1/vhosts/default/apps/app")):
        r = await api.request(method, path)
        assert r.status == 404, (method, path)
        assert r.message == "[HTTP] Controller not found (404)"


async def test_removed_odd_routes_are_404(api):
    assert (await api.get("/v1/vhosts/default/apps/app:")).message == "[HTTP] Controller not found (404)"
    assert (await api.post("/v1/vhosts:reloadCertificate")).message == "[HTTP] Controller not found (404)"
    # A GET on a vhost action path is a GET of the vhost named "default:reloadCertificate".
    r = await api.get("/v1/vhosts/default:reloadCertificate")
    assert r.message == "[HTTP] Could not find the virtual host: [default:reloadCertificate] (404)"


async def test_head_answers_get_routes_with_headers_only(api):
    get = await api.get("/v1/vhosts/default")
    head = await api.request("HEAD", "/v1/vhosts/default")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Type"] == JSON_CT
    assert head.headers["Content-Length"] == str(len(get.body))
    missing = await api.request("HEAD", "/v1/vhosts/nope")
    assert missing.status == 404 and missing.body == b""


async def test_query_string_is_ignored_for_matching(api):
    r = await api.get("/v1/vhosts?foo=bar&x=/y")
    assert r.status == 200 and r.json["response"] == ["default"]


async def test_paths_are_not_percent_decoded(api):
    r = await api.get("/v1/vhosts/defaul%74")
    assert r.message == "[HTTP] Could not find the virtual host: [defaul%74] (404)"
    r = await api.get("/v1/vhosts/default/apps/%61pp")
    assert r.message == "[HTTP] Could not find the application: [default/%61pp] (404)"


async def test_path_traversal_is_just_an_unknown_name(api):
    r = await api.get("/v1/vhosts/../version")
    assert r.status == 404 and r.message == "[HTTP] Controller not found (404)"
    r = await api.get("/v1/vhosts/..")
    assert r.message == "[HTTP] Could not find the virtual host: [..] (404)"
    r = await api.get("/v1/vhosts/default/apps/..%2F..%2Fetc")
    assert r.message == "[HTTP] Could not find the application: [default/..%2F..%2Fetc] (404)"


async def test_status_line_uses_ome_phrases(api):
    r = await api.post("/v1/vhosts", [{"name": "x"}, {"name": "x"}])
    assert r.status == 207 and r.reason == "Multi Status"
    r = await api.get("/v1/nope")
    assert r.reason == "Not Found"


async def test_malformed_body_exact_text(api):
    r = await api.post("/v1/vhosts", raw="not json")
    assert r.status == 400
    assert r.text == ('{"message":"[HTTP] [JSON] * Line 1, Column 1\\n  Syntax error: value, object or array '
                      'expected.\\n (400)","statusCode":400}')


async def test_malformed_body_other_reason_keeps_the_frame(api):
    r = await api.post("/v1/vhosts", raw='[{"name": "x",}]')
    assert r.status == 400
    assert r.message == "[HTTP] [JSON] * Line 1, Column 15\n  Missing '}' or object member name\n (400)"


async def test_body_is_parsed_before_lookups(api):
    r = await api.post("/v1/vhosts/nope/apps", raw="{bad")
    assert r.status == 400 and r.message.startswith("[HTTP] [JSON] * Line 1, Column 2")
    r = await api.post("/v1/vhosts/nope/apps/nope/streams/s:sendEvent", raw="]")
    assert r.status == 400 and r.message.startswith("[HTTP] [JSON]")


async def test_lenient_bodies_comments_trailing_duplicates(api):
    r = await api.post("/v1/vhosts", raw='// make one\n[{"name": "a", /* dup */ "name": "b"}] trailing')
    assert r.status == 200
    assert r.json == [{"message": "OK", "response": {"name": "b"}, "statusCode": 200}]


async def test_content_type_is_never_checked(api):
    r = await api.post("/v1/vhosts", raw='[{"name":"ct"}]', headers={"Content-Type": "text/plain"})
    assert r.status == 200


async def test_empty_body_is_null_then_handler_text(api):
    r = await api.post("/v1/vhosts")
    assert r.status == 400 and r.message == "[HTTP] Request body must be an array (400)"


async def test_huge_body_is_413(api):
    r = await api.post("/v1/vhosts", raw=b"[" + b" " * (2 * 1024 * 1024) + b"]")
    assert r.status == 413 and r.reason == "Content Too Large"
    assert r.json == {"message": "[HTTP] Request body is larger than the limit of 1048576 bytes (413)",
                      "statusCode": 413}
    # the server is still fine
    assert (await api.get("/v1/vhosts")).status == 200


async def test_huge_chunked_body_is_413(api):
    async def chunks():
        for _ in range(40):
            yield b" " * 65536

    async with api.session.post(api.base + "/v1/vhosts", data=chunks(), headers=AUTH) as r:
        assert r.status == 413
        assert (await r.json())["message"] == "[HTTP] Request body is larger than the limit of 1048576 bytes (413)"


async def test_non_utf8_body_is_400(api):
    r = await api.post("/v1/vhosts", raw=b'[{"name":"\xff\xfe"}]')
    assert r.status == 400
    assert r.message == "[HTTP] [JSON] * Line 1, Column 11\n  Request body is not valid UTF-8 text.\n (400)"


async def test_deep_nesting_is_rejected_and_server_survives(api):
    r = await api.post("/v1/vhosts", raw=b"[" * 100000)
    assert r.status == 400 and "Exceeded stackLimit" in r.message
    assert (await api.get("/v1/version")).status == 200


async def test_unexpected_exception_is_500_without_internals(api):
    from ome.runtime.registry import Stream

    app = api.server.registry.app("default", "app")

    def explode(_request):
        raise RuntimeError("secret internal detail /etc/passwd")

    stream = Stream(app=app, name="s", source_type="Rtmp")
    stream.send_event = explode
    app.streams["s"] = stream
    r = await api.post("/v1/vhosts/default/apps/app/streams/s:sendEvent",
                       {"eventFormat": "id3v2", "events": [{"frameType": "TXXX", "data": "x"}]})
    assert r.status == 500
    assert r.text == '{"message":"[HTTP] Internal Server Error (500)","statusCode":500}'
    assert (await api.get("/v1/version")).status == 200


async def test_expect_100_continue_is_answered(api):
    import time

    body = b'[{"name":"big"}' + b" " * 4096 + b"]"
    started = time.monotonic()
    async with api.session.post(api.base + "/v1/vhosts", data=body, headers=AUTH, expect100=True) as r:
        assert r.status == 200
    assert time.monotonic() - started < 0.9


async def test_concurrent_writes_are_serialized(api):
    import asyncio

    await api.post("/v1/vhosts", [{"name": "w"}])
    replies = await asyncio.gather(*(api.post("/v1/vhosts/w/apps", [{"name": "same", "type": "live"}])
                                     for _ in range(15)))
    assert sorted(r.status for r in replies) == [200] + [409] * 14
    assert (await api.get("/v1/vhosts/w/apps")).json["response"] == ["same"]


async def test_unparseable_requests_get_a_json_400_and_the_server_lives(api):
    import asyncio

    for raw in (b"GET /v1/vhosts/\xff HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01garbage\r\n\r\n",
                b"GET /v1/vhosts HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0].endswith(b"400 Bad Request"), data
        assert b"Server: OvenMediaEngine" in head
        assert body == b'{"message":"Bad Request","statusCode":400}'
    assert (await api.get("/v1/version")).status == 200

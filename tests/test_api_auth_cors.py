"""Authentication (reference §2.3) and CORS (§2.4) on a live API server."""
from __future__ import annotations

import base64

import pytest

from test_api_support import api, make_api  # noqa: F401  (fixtures)

REALM = 'Basic realm="OvenMediaEngine"'
ALLOW_METHODS = "OPTIONS, HEAD, GET, POST, PUT, PATCH, DELETE"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


# -- authentication -------------------------------------------------------------------------

@pytest.mark.parametrize("header, message", [
    (None, "[HTTP] Authorization header is required to call API (401)"),
    ("", "[HTTP] Authorization header is required to call API (401)"),
    ("Basic", "[HTTP] Invalid authorization header (401)"),
    ("Basic  b21lLWFjY2Vzcy10b2tlbg==", "[HTTP] Invalid authorization header (401)"),
    ("Basic a b", "[HTTP] Invalid authorization header (401)"),
    ("Bearer b21lLWFjY2Vzcy10b2tlbg==", "[HTTP] Not supported credential type: Bearer (401)"),
    ("Basic !!!notbase64", "[HTTP] Invalid credential format (401)"),
    ("Basic " + base64.b64encode(b"wrong").decode(), "[HTTP] Invalid credential (401)"),
    ("Basic " + base64.b64encode(b"ome-access-token:").decode(), "[HTTP] Invalid credential (401)"),
])
async def test_the_five_401s(api, header, message):
    headers = {} if header is None else {"Authorization": header}
    r = await api.get("/v1/vhosts", auth=False, headers=headers)
    assert r.status == 401 and r.reason == "Unauthorized"
    assert r.json == {"message": message, "statusCode": 401}
    assert r.headers["WWW-Authenticate"] == REALM
    assert r.headers["Server"] == "OvenMediaEngine"


async def test_scheme_is_case_insensitive(api):
    for scheme in ("basic", "BASIC", "bAsIc"):
        r = await api.get("/v1/vhosts", auth=False,
                          headers={"Authorization": f"{scheme} b21lLWFjY2Vzcy10b2tlbg=="})
        assert r.status == 200, scheme


async def test_documented_example_header(api):
    r = await api.get("/v1/vhosts", auth=False, headers={"Authorization": "Basic b21lLWFjY2Vzcy10b2tlbg=="})
    assert r.status == 200


async def test_token_with_colon_is_compared_whole(make_api):
    api = await make_api(token="admin:secret")
    assert (await api.get("/v1/vhosts", auth=False, headers={"Authorization": basic("admin:secret")})).status == 200
    r = await api.get("/v1/vhosts", auth=False, headers={"Authorization": basic("admin")})
    assert r.message == "[HTTP] Invalid credential (401)"


async def test_unauthenticated_unknown_path_is_401_not_404(api):
    r = await api.get("/no/such/thing", auth=False)
    assert r.status == 401
    assert r.message == "[HTTP] Authorization header is required to call API (401)"


async def test_openapi_is_behind_auth(api):
    assert (await api.get("/v1/openapi.json", auth=False)).status == 401


# -- CORS -----------------------------------------------------------------------------------

async def test_allow_methods_always_even_without_cross_domains(api):
    for r in (await api.get("/v1/vhosts"), await api.request("OPTIONS", "/v1/vhosts", auth=False),
              await api.get("/v1/vhosts", auth=False), await api.get("/v1/nope")):
        assert r.headers["Access-Control-Allow-Methods"] == ALLOW_METHODS
    r = await api.get("/v1/vhosts", headers={"Origin": "http://a.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Credentials" not in r.headers


async def test_empty_url_list_adds_nothing_else(make_api):
    api = await make_api(cross_domains="<CrossDomains><Header><Key>X-Test</Key><Value>1</Value></Header>"
                                       "</CrossDomains>")
    r = await api.get("/v1/vhosts", headers={"Origin": "http://a.example"})
    assert r.headers["Access-Control-Allow-Methods"] == ALLOW_METHODS
    assert "Access-Control-Allow-Origin" not in r.headers and "X-Test" not in r.headers


async def test_star_allows_everything(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>*.airensoft.com</Url><Url>*</Url></CrossDomains>")
    r = await api.get("/v1/vhosts", headers={"Origin": "http://anything.example",
                                             "Access-Control-Request-Headers": "authorization"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Headers"] == "authorization"
    assert r.headers["Access-Control-Allow-Methods"] == ALLOW_METHODS


async def test_null_alone(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>null</Url></CrossDomains>")
    r = await api.get("/v1/vhosts", headers={"Origin": "null"})
    assert r.headers["Access-Control-Allow-Origin"] == "null"


async def test_null_mixed_with_others_is_ignored(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>null</Url><Url>a.example</Url></CrossDomains>")
    r = await api.get("/v1/vhosts", headers={"Origin": "null"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = await api.get("/v1/vhosts", headers={"Origin": "https://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://a.example"


SAMPLE = ("<CrossDomains><Url>*.airensoft.com</Url><Url>http://*.sub-domain.airensoft.com</Url>"
          "<Url>http?://airensoft.*</Url></CrossDomains>")


@pytest.mark.parametrize("origin, allowed", [
    ("http://www.airensoft.com", True),          # no scheme in the pattern: http:// matches
    ("https://www.airensoft.com", True),         # ... and https://
    ("www.airensoft.com", True),
    ("http://airensoft.com", False),             # `*.` needs a dot-prefixed host
    ("http://x.sub-domain.airensoft.com", True),
    ("https://x.sub-domain.airensoft.com", True),  # also matches *.airensoft.com (no scheme)
    ("https://airensoft.io", True),              # http?:// -> one character then ://
    ("http://airensoft.io", False),              # `?` is exactly one character
    ("http://evil.example", False),
])
async def test_wildcard_patterns(make_api, origin, allowed):
    api = await make_api(cross_domains=SAMPLE)
    r = await api.get("/v1/vhosts", headers={"Origin": origin})
    if allowed:
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
    else:
        for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                     "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"):
            assert name not in r.headers


async def test_scheme_pattern_only_matches_that_scheme(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>https://app.example</Url></CrossDomains>")
    assert (await api.get("/v1/vhosts", headers={"Origin": "https://app.example"})) \
        .headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Origin" not in \
        (await api.get("/v1/vhosts", headers={"Origin": "http://app.example"})).headers


async def test_allow_headers_echoed_only_when_requested(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>a.example</Url></CrossDomains>")
    r = await api.request("OPTIONS", "/v1/vhosts", auth=False,
                          headers={"Origin": "http://a.example", "Access-Control-Request-Method": "POST",
                                   "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert r.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    r = await api.get("/v1/vhosts", headers={"Origin": "http://a.example"})
    assert "Access-Control-Allow-Headers" not in r.headers


async def test_custom_headers_override_and_are_always_added(make_api):
    api = await make_api(cross_domains=(
        "<CrossDomains><Url>a.example</Url>"
        "<Header><Key>Access-Control-Allow-Origin</Key><Value>https://fixed.example</Value></Header>"
        "<Header><Key>X-Custom</Key><Value>yes</Value></Header></CrossDomains>"))
    r = await api.get("/v1/vhosts", headers={"Origin": "http://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://fixed.example"
    assert r.headers["X-Custom"] == "yes"
    # no match: the four allow headers go, the other custom header stays (also on 401 and OPTIONS)
    for r in (await api.get("/v1/vhosts", headers={"Origin": "http://b.example"}),
              await api.get("/v1/vhosts", auth=False, headers={"Origin": "http://b.example"}),
              await api.request("OPTIONS", "/x", auth=False, headers={"Origin": "http://b.example"})):
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Access-Control-Allow-Methods" not in r.headers
        assert r.headers["X-Custom"] == "yes"


async def test_cors_applies_to_401_replies(make_api):
    api = await make_api(cross_domains="<CrossDomains><Url>*</Url></CrossDomains>")
    r = await api.get("/v1/vhosts", auth=False, headers={"Origin": "http://x.example"})
    assert r.status == 401
    assert r.headers["Access-Control-Allow-Origin"] == "*"

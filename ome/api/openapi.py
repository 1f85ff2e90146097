"""GET /v1/openapi.json: an OpenAPI 3.1 document generated from the route table, so it cannot
drift from what is served. Vhost and app bodies reference the config engine's JSON schemas
when the pydantic models provide them.
"""
from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from ome import OME_API_VERSION, __version__
from ome.api.context import Ctx
from ome.api.envelope import PHRASES, Reply

if TYPE_CHECKING:
    from ome.api.routes import Route

log = logging.getLogger(__name__)

_ENVELOPE = {
    "type": "object",
    "required": ["message", "statusCode"],
    "properties": {
        "message": {"type": "string", "description": "Reason phrase, or `[HTTP] <text> (<code>)` on errors"},
        "statusCode": {"type": "integer"},
        "response": {"description": "The payload, absent when there is none"},
    },
}
_ERROR_CODES = {
    "GET": ("401", "404"),
    "DELETE": ("401", "403", "404", "503"),
    "POST": ("400", "401", "403", "404", "409", "413", "503"),
    "PATCH": ("400", "401", "403", "404", "409", "413", "503"),
}
_BODY_SCHEMAS = {
    ("VirtualHost", "POST"): {"type": "array", "items": {"$ref": "#/components/schemas/VirtualHost"}},
    ("Application", "POST"): {"type": "array", "items": {"$ref": "#/components/schemas/Application"}},
    ("Application", "PATCH"): {"$ref": "#/components/schemas/Application"},
}


def _config_schemas() -> dict[str, Any]:
    """JSON schemas of the vhost/app config models; a plain object schema when unavailable."""
    schemas: dict[str, Any] = {}
    for name, attr in (("VirtualHost", "VirtualHostConfig"), ("Application", "ApplicationConfig")):
        schema: dict[str, Any] = {"type": "object", "description": f"OME {name} JSON (reference §7.6, §8)"}
        try:
            import ome.config as config
            model = getattr(config, attr, None)
            if model is not None and hasattr(model, "model_json_schema"):
                generated = model.model_json_schema(by_alias=True)
                defs = generated.pop("$defs", {})
                for def_name, def_schema in defs.items():
                    schemas[def_name] = def_schema
                schema = _rewrite_refs(generated)
        except Exception as exc:  # schemas are documentation; never fail the request over them
            log.debug("no JSON schema for %s: %s", attr, exc)
        schemas[name] = schema
    return {name: _rewrite_refs(s) for name, s in schemas.items()}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                    else _rewrite_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _operation(route: "Route") -> dict[str, Any]:
    responses: dict[str, Any] = {}
    success = str(route.success)
    if route.batch:
        responses[success] = {
            "description": "Every item succeeded alike (all-equal status); a bare array, one element per item",
            "content": {"application/json": {"schema": {"type": "array", "items": _ENVELOPE}}}}
        responses["207"] = {"description": PHRASES[207] + ": items ended differently",
                            "content": {"application/json": {"schema": {"type": "array", "items": _ENVELOPE}}}}
    else:
        responses[success] = {"description": PHRASES.get(route.success, "OK"),
                              "content": {"application/json": {"schema": _ENVELOPE}}}
    for code in _ERROR_CODES.get(route.method, ("401",)):
        responses.setdefault(code, {"description": PHRASES[int(code)],
                                    "content": {"application/json": {"schema": _ENVELOPE}}})
    op: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": f"{route.method.lower()}_{route.handler.__name__}",
        "responses": responses,
    }
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
               "description": "Not percent-decoded: names needing escapes are unreachable (as in OME)"}
              for name in route.path_params]
    if params:
        op["parameters"] = params
    if route.body:
        schema = _BODY_SCHEMAS.get((route.tag, route.method))
        if schema is None:
            schema = {"type": "array"} if route.body == "array" else {"type": "object"}
        op["requestBody"] = {"required": False,
                             "content": {"application/json": {"schema": schema}}}
    return op


def _openapi_path(route: "Route") -> str:
    path = route.template
    for raw, name in (("{vhost_action}", "{vhost}"), ("{stats_app}", "{app}")):
        path = path.replace(raw, name)
    return path


@functools.cache
def document() -> dict[str, Any]:
    from ome.api.routes import ROUTES

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        item = paths.setdefault(_openapi_path(route), {})
        key = route.method.lower()
        if key in item:  # same method twice on one path cannot happen; keep the first (first match wins)
            continue
        item[key] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ome REST API (OvenMediaEngine v1 compatible)",
            "version": f"{OME_API_VERSION} (ome {__version__})",
            "description": "Every reply is JSON in the envelope {message, statusCode, response?}; "
                           "batch endpoints reply with a bare array. Unknown paths and wrong methods "
                           "answer 404 `[HTTP] Controller not found (404)`. OPTIONS answers 204 "
                           "without authentication; GET routes also answer HEAD.",
        },
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}],
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic",
                                              "description": "base64(<AccessToken>), compared whole"}},
            "schemas": _config_schemas(),
        },
        "paths": paths,
    }


async def get_openapi(ctx: Ctx) -> Reply:
    # The document itself (not enveloped), so OpenAPI tools can load the URL directly.
    return Reply(200, document())

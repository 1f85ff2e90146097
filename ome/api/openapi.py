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
    """JSON schemas of the vhost/app config models with OME's JSON names, derived from the config
    engine's field specs; a plain object schema when they cannot be derived."""
    defs: dict[str, Any] = {}
    for name, attr in (("VirtualHost", "VirtualHostConfig"), ("Application", "ApplicationConfig")):
        try:
            import ome.config as config
            ref = _model_schema(getattr(config, attr), defs)
            defs[name] = ref
        except Exception as exc:  # schemas are documentation; never fail the request over them
            log.debug("no JSON schema for %s: %s", attr, exc)
            defs[name] = {"type": "object", "description": f"OME {name} JSON (reference §7.6, §8)"}
    return defs


def _scalar_schema(typ: Any) -> dict[str, Any]:
    # JSON values are lenient (reference §7.2): numbers are accepted where strings are expected
    # and vice versa, so each scalar also admits its string form.
    if typ is bool:
        return {"type": ["boolean", "string", "integer"]}
    if typ is int:
        return {"type": ["integer", "string"]}
    if typ is float:
        return {"type": ["number", "string"]}
    if typ is str:
        return {"type": ["string", "number", "boolean"]}
    return {"type": ["string", "integer"], "description": getattr(typ, "__name__", "value")}


def _model_schema(cls: Any, defs: dict[str, Any]) -> dict[str, Any]:
    from ome.config.spec import model_spec

    name = f"{cls.__name__}Json"
    ref = {"$ref": f"#/components/schemas/{name}"}
    if name in defs:
        return ref
    defs[name] = {}
    properties: dict[str, Any] = {"$": {"type": "object", "description": "XML attributes"}}
    required: list[str] = []
    for f in model_spec(cls).fields:
        item = _model_schema(f.typ, defs) if f.kind != "scalar" and f.item_is_model else _scalar_schema(f.typ)
        if f.kind == "list":
            array = {"type": "array", "items": item}
            item = array if f.shape in ("direct", "bare") else {
                "type": "object", "properties": {f.item_json: array}, "additionalProperties": False}
        properties[f.json] = item
        if f.required:
            required.append(f.json)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    defs[name] = schema
    return ref


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

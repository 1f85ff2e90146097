"""Certificate reloads (reference §4.10): vhost certificates and the API server's own."""
from __future__ import annotations

from ome.api import services
from ome.api.context import Ctx
from ome.api.envelope import Reply, ok
from ome.api.errors import HttpError

RELOAD_FAILED = "Failed to reload certificate. Check server log for more information."

# Orchestrator-style results -> HTTP status, as OME maps them.
_RESULT_STATUS = {"success": 200, "created": 201, "error": 500, "not_found": 404, "exists": 409,
                  "invalid_request": 400, "unauthorized": 401, "invalid_parameter": 500,
                  "invalid_state": 500, "disabled": 423}


def _reply(result: object) -> Reply:
    status = _RESULT_STATUS.get(str(result), 500) if not isinstance(result, int) else result
    if status in (200, 201):
        return ok(status=status)
    raise HttpError(status, RELOAD_FAILED)


async def reload_all(ctx: Ctx) -> Reply:
    service = getattr(ctx.server, "certificates", None)
    if service is None:        # no vhost serves TLS yet: nothing to reload
        return ok()
    return _reply(await services.call(service.reload_all))


async def reload_vhost(ctx: Ctx) -> Reply:
    service = getattr(ctx.server, "certificates", None)
    if service is None:
        return ok()
    return _reply(await services.call(service.reload, ctx.vhost))


async def reload_api(ctx: Ctx) -> Reply:
    if not ctx.api.tls_enabled:
        raise HttpError(400, "TLS is not enabled for the API Server")
    if not ctx.api.reload_certificate():
        raise HttpError(500, "Failed to create a certificate for the API Server")
    return ok()

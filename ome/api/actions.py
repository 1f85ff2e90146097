"""Action routes: records and pushes on {A}, events/dumps/subtitles/conclude on {S}.

Bodies are validated here with OME's texts (ome.api.action_bodies); the work is done by the
feature hooks described in ome.api.services. Where a feature is not there, the reply is OME's
for an unavailable target.
"""
from __future__ import annotations

import logging
from typing import Any

from ome.api import action_bodies as bodies
from ome.api import services
from ome.api.context import Ctx
from ome.api.envelope import Batch, Reply, ok
from ome.api.errors import ApiError, HttpError, internal_error
from ome.api.persist import persist

log = logging.getLogger(__name__)


def _va(ctx: Ctx) -> str:
    assert ctx.app is not None
    return f"{ctx.app.vhost.name}/{ctx.app.name}"


def _vas(ctx: Ctx) -> str:
    assert ctx.stream is not None
    return f"{_va(ctx)}/{ctx.stream.name}"


def _app_has_file(ctx: Ctx) -> bool:
    assert ctx.app is not None
    from ome.api.configs import has_publisher
    return has_publisher(ctx.app.config, "file", "file")


def _app_has_push(ctx: Ctx) -> bool:
    assert ctx.app is not None
    from ome.api.configs import has_publisher
    config = ctx.app.config
    return any(has_publisher(config, attr, key) for attr, key in (
        ("push", "push"), ("rtmp_push", "rtmpPush"), ("srt_push", "srtPush"), ("mpegts_push", "mpegtsPush")))


# -- records --------------------------------------------------------------------------------

def _records_target(ctx: Ctx) -> Any:
    """The FILE publisher of this app (404s as OME); None when the record feature is not built."""
    if not _app_has_file(ctx):
        raise HttpError(404, f"Could not find application: [{_va(ctx)}]")
    return getattr(ctx.server, "records", None)


def _no_publisher(ctx: Ctx) -> HttpError:
    return HttpError(404, f"Could not find publisher: [{_va(ctx)}]")


def _parse_error(ctx: Ctx) -> str:
    return f"Could not parse json context: [{_va(ctx)}]"


async def start_record(ctx: Ctx) -> Reply:
    service = _records_target(ctx)
    request = bodies.validate_start_record(bodies.object_body(ctx.body, _parse_error(ctx)))
    if service is None:
        raise _no_publisher(ctx)
    record = await services.call(service.start, ctx.app, request)
    app = ctx.app
    assert app is not None

    async def undo() -> None:
        await services.call(service.stop, app, request.id)

    await persist(ctx.server, lambda store: store.put_task(
        "record", app.vhost.name, app.name, request.id, request.body, record.get("createdTime"),
        int(record.get("sequence", 0) or 0)), undo)
    return ok(record)


async def stop_record(ctx: Ctx) -> Reply:
    service = _records_target(ctx)
    record_id = bodies.validate_stop_record(bodies.object_body(ctx.body, _parse_error(ctx)))
    if service is None:
        raise _no_publisher(ctx)
    record = await services.call(service.stop, ctx.app, record_id)
    app = ctx.app
    assert app is not None
    store = getattr(ctx.server, "store", None)
    if store is not None:
        try:
            await store.delete_task("record", app.vhost.name, app.name, record_id)
        except Exception:  # the task is stopping anyway; restore skips tasks it cannot match
            log.warning("could not remove stopped record %s of %s from storage", record_id, _va(ctx))
    return ok(record)


async def list_records(ctx: Ctx) -> Reply:
    service = _records_target(ctx)
    body = bodies.object_body(ctx.body, _parse_error(ctx))
    if service is None:
        raise _no_publisher(ctx)
    record_id = bodies.as_string(body.get("id")) or None
    return ok(list(await services.call(service.list, ctx.app, record_id)))


# -- pushes ---------------------------------------------------------------------------------

async def start_push(ctx: Ctx) -> Reply:
    body = bodies.object_body(ctx.body, _parse_error(ctx))
    protocol = bodies.push_protocol(body)
    if protocol not in bodies.PUSH_PROTOCOLS:
        raise HttpError(400, f"Could not find protocol '{protocol}': [{_va(ctx)}]")
    if not _app_has_push(ctx):
        raise HttpError(404, f"Could not find application: [{_va(ctx)}]")
    request = bodies.validate_start_push(body)
    service = getattr(ctx.server, "pushes", None)
    if service is None:
        raise _no_publisher(ctx)
    push = await services.call(service.start, ctx.app, request)
    app = ctx.app
    assert app is not None

    async def undo() -> None:
        await services.call(service.stop, app, request.id)

    await persist(ctx.server, lambda store: store.put_task(
        "push", app.vhost.name, app.name, request.id, request.body, push.get("createdTime"), 0), undo)
    return ok(push)


async def stop_push(ctx: Ctx) -> Reply:
    body = bodies.object_body(ctx.body, _parse_error(ctx))
    push_id = bodies.as_string(body.get("id"))
    service = getattr(ctx.server, "pushes", None)
    if not _app_has_push(ctx):
        raise HttpError(404, f"Could not find id '{push_id}': [{_va(ctx)}]")
    bodies.validate_stop_push(body)
    if service is None:
        raise _no_publisher(ctx)
    await services.call(service.stop, ctx.app, push_id)
    app = ctx.app
    assert app is not None
    store = getattr(ctx.server, "store", None)
    if store is not None:
        try:
            await store.delete_task("push", app.vhost.name, app.name, push_id)
        except Exception:
            log.warning("could not remove stopped push %s of %s from storage", push_id, _va(ctx))
    return ok()


async def list_pushes(ctx: Ctx) -> Reply:
    body = bodies.object_body(ctx.body, _parse_error(ctx))
    if not _app_has_push(ctx):
        return ok([])
    service = getattr(ctx.server, "pushes", None)
    if service is None:
        raise _no_publisher(ctx)
    push_id = bodies.as_string(body.get("id")) or None
    return ok(list(await services.call(service.list, ctx.app, push_id)))


# -- stream actions -------------------------------------------------------------------------

def _source_hook(ctx: Ctx, name: str) -> Any:
    """A hook of the provider stream; 404 `Could not find stream: [v/a/s]` when it is gone."""
    hook = getattr(ctx.stream, name, None)
    if hook is None:
        raise HttpError(404, f"Could not find stream: [{_vas(ctx)}]")
    return hook


async def send_event(ctx: Ctx) -> Reply:
    await _send_one_event(ctx, ctx.body)
    return ok()


async def _send_one_event(ctx: Ctx, body: Any) -> None:
    request = bodies.validate_event(body)
    hook = _source_hook(ctx, "send_event")
    if await services.call(hook, request) is False:
        raise HttpError(500, f"Internal Server Error - Could not inject event: [{_vas(ctx)}]")


async def send_events(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, list) or not ctx.body:
        raise HttpError(400, "events(array) is required")
    batch = Batch()
    for item in ctx.body:
        try:
            await _send_one_event(ctx, item)
            batch.success()
        except ApiError as exc:
            batch.failure(exc)
        except Exception:
            log.exception("sending an event failed")
            batch.failure(internal_error())
    return batch.reply()


async def conclude_hls_live(ctx: Ctx) -> Reply:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    urgent = body.get("urgent") if bodies.is_bool(body.get("urgent")) else False
    hook = _source_hook(ctx, "conclude_live")
    if await services.call(hook, urgent) is False:
        raise HttpError(500, f"Internal Server Error - Could not inject ConcludeLive event: [{_vas(ctx)}]")
    return ok()


async def send_subtitles(ctx: Ctx) -> Reply:
    request = bodies.validate_subtitles(ctx.body)
    hook = _source_hook(ctx, "send_subtitles")
    await services.call(hook, request)
    return ok()


# -- HLS dumps ------------------------------------------------------------------------------

def _dump_body(ctx: Ctx) -> dict[str, Any]:
    return bodies.object_body(ctx.body, f"Could not parse json context: [{_vas(ctx)}]")


def _llhls_of(ctx: Ctx, output_name: str) -> Any:
    assert ctx.stream is not None
    output = (ctx.stream.outputs or {}).get(output_name)
    if output is None:
        raise HttpError(404, f"Could not find output stream: [{_va(ctx)}/{output_name}]")
    llhls = getattr(output, "llhls", None)
    if llhls is None:
        raise HttpError(404, f"Could not find LLHLS stream: [{_va(ctx)}/{output_name}]")
    return llhls


async def hls_dumps(ctx: Ctx) -> Reply:
    dump_id, output_name, _ = bodies.dump_fields(_dump_body(ctx))
    if not output_name:
        raise HttpError(400, "outputStreamName is required")
    llhls = _llhls_of(ctx, output_name)
    return ok(list(await services.call(llhls.dumps, dump_id or None)))


async def start_hls_dump(ctx: Ctx) -> Reply:
    body = _dump_body(ctx)
    dump_id, output_name, output_path = bodies.dump_fields(body)
    if not dump_id or not output_name or not output_path:
        raise HttpError(400, "id, outputStreamName and outputPath are required")
    llhls = _llhls_of(ctx, output_name)
    await services.call(llhls.start_dump, body)
    return ok()


async def stop_hls_dump(ctx: Ctx) -> Reply:
    dump_id, output_name, _ = bodies.dump_fields(_dump_body(ctx))
    if not output_name:
        raise HttpError(400, "outputStreamName is required")
    llhls = _llhls_of(ctx, output_name)
    await services.call(llhls.stop_dump, dump_id or None)
    return ok()

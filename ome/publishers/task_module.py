"""What the record (FILE) and push publishers share: tasks per app keyed by id, which stream a
task serves (an output stream by name, OME's naming; the input when the app makes no outputs),
attaching when that stream appears, and resuming the tasks restored from Redis."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ome.api.errors import HttpError

from .stream_map import StreamMaps

if TYPE_CHECKING:
    from ome.runtime.registry import Application, Stream

log = logging.getLogger(__name__)


def makes_outputs(app: "Application") -> bool:
    profiles = app.config.output_profiles
    return bool(profiles and profiles.output_profile)


def serves(stream: "Stream", app: "Application", name: str) -> bool:
    """True when a task of `app` naming stream `name` records/pushes `stream`."""
    if stream.app is not app or stream.name != name:
        return False
    return stream.origin is not None or not makes_outputs(app)


class TaskModule:
    """Base of RecordModule / PushModule. Subclasses set `kind`, `publisher` (for logs) and
    implement `has_app`, `attach(task, stream)`, `validate(body)` and `resume(app, request, stored)`."""

    kind = ""
    publisher = ""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.tasks: dict[tuple[str, str], dict[str, Any]] = {}   # (vhost, app) -> id -> task
        self._parked: dict[tuple[str, str], dict[str, Any]] = {}  # apps being re-created (PATCH)
        config_dir = getattr(getattr(server, "config", None), "config_dir", None)
        self.maps = StreamMaps(self.kind, Path(config_dir) if config_dir else Path.cwd())
        self._ending: set[asyncio.Task] = set()

    def app_tasks(self, app: "Application") -> dict[str, Any]:
        return self.tasks.setdefault((app.vhost.name, app.name), {})

    def tasks_of(self, stream: "Stream") -> list[Any]:
        return list(self.tasks.get((stream.app.vhost.name, stream.app.name), {}).values())

    def list(self, app: "Application", task_id: str | None) -> list[dict[str, Any]]:
        tasks = self.tasks.get((app.vhost.name, app.name), {})
        return [t.json() for i, t in tasks.items() if task_id in (None, i)]

    # -- streams ---------------------------------------------------------------------------------
    def attach_existing(self, task: Any) -> None:
        """Attach to the task's stream if it is live already."""
        for stream in task.app.streams.values():
            for candidate in (stream, *stream.outputs.values()):
                if serves(candidate, task.app, task.request.stream_name):
                    self.attach(task, candidate)
                    return

    def on_stream_created(self, stream: "Stream") -> None:
        for task in self.tasks_of(stream):
            if serves(stream, task.app, task.request.stream_name):
                self.attach(task, stream)
        self.start_mapped(stream)

    # -- <StreamMap>: tasks from the publisher's map file (stream_map.py) --------------------------
    def map_config(self, app: "Application") -> Any:
        """The app's `<StreamMap>` for this publisher, or None."""
        return None

    def start_mapped(self, stream: "Stream") -> None:
        """Starts the map's tasks for a stream that tasks serve (isConfig: true, not stored)."""
        app = stream.app
        if not self.has_app(app) or not serves(stream, app, stream.name):
            return
        source = stream.origin.name if stream.origin is not None else stream.name
        tasks = self.app_tasks(app)
        for body in self.maps.bodies(self.map_config(app), app.name, stream.name, source):
            if body["id"] in tasks:
                continue
            try:
                self.begin(app, self.validate(body), is_config=True)
            except HttpError as exc:
                log.error("%s stream map: task %s for %s/%s not started: %s", self.kind, body["id"], app.name,
                          stream.name, exc.message)
                continue
            log.info("%s stream map: task %s started for %s/%s", self.kind, body["id"], app.name, stream.name)

    def end_mapped(self, stream: "Stream") -> None:
        """The stream went: its map tasks end with it (their files are finished)."""
        tasks = self.tasks.get((stream.app.vhost.name, stream.app.name), {})
        for task_id, task in list(tasks.items()):
            if task.is_config and task.sink is not None and task.sink.stream is stream:
                del tasks[task_id]
                ending = asyncio.get_running_loop().create_task(self.finish_task(task))
                self._ending.add(ending)
                ending.add_done_callback(self._ending.discard)

    def begin(self, app: "Application", request: Any, is_config: bool = False) -> Any:
        raise NotImplementedError

    def attach(self, task: Any, stream: "Stream") -> None:
        raise NotImplementedError

    # -- restore ---------------------------------------------------------------------------------
    async def resume_restored(self) -> None:
        """Listener start: the tasks stored in Redis come back (`ready` until their stream is live)."""
        restored = getattr(self.server, "restored_tasks", None)
        for stored in restored.take(self.kind) if restored is not None else []:
            try:
                app = self.server.registry.app(stored.vhost, stored.app)
                if not self.has_app(app):
                    raise HttpError(404, f"the application has no {self.publisher} publisher")
                request = self.validate(dict(stored.body))
                if request.id in self.app_tasks(app):
                    raise HttpError(400, "duplicate id")
                task = self.resume(app, request, stored)
            except Exception as exc:
                log.error("restore: %s task [%s/%s/%s] not resumed: %s", self.kind, stored.vhost, stored.app,
                          stored.id, getattr(exc, "message", None) or exc)
                continue
            log.info("restore: %s task %s resumed (%s)", self.kind, task.id, task.state)

    def has_app(self, app: "Application") -> bool:
        raise NotImplementedError

    def validate(self, body: dict[str, Any]) -> Any:
        raise NotImplementedError

    def resume(self, app: "Application", request: Any, stored: Any) -> Any:
        raise NotImplementedError

    # -- apps ------------------------------------------------------------------------------------
    async def on_app_deleted(self, app: "Application") -> None:
        """DELETE: the app's tasks end. PATCH (recreate_app, `app.replaced`): they are parked and
        handed to the new app, as the storage keeps them."""
        key = (app.vhost.name, app.name)
        tasks = self.tasks.pop(key, {})
        if app.replaced:
            for task in tasks.values():
                self.park(task)
            self._parked[key] = tasks
            return
        for task in tasks.values():
            await self.finish_task(task)

    async def on_app_created(self, app: "Application") -> None:
        tasks = self._parked.pop((app.vhost.name, app.name), None)
        if not tasks:
            return
        if not self.has_app(app):
            for task in tasks.values():
                await self.finish_task(task)
            return
        for task in tasks.values():
            task.app = app
            self.app_tasks(app)[task.id] = task
            self.attach_existing(task)

    def park(self, task: Any) -> None:
        raise NotImplementedError

    async def finish_task(self, task: Any) -> None:
        raise NotImplementedError

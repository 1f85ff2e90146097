"""`restore(server, store)`: replay API-created state into the registry (reference §6.4).

Runs after the Server.xml vhosts and apps exist and before any listener opens.
1. Vhosts by `seq`; a name Server.xml also declares: Server.xml wins, the stored
   entry is skipped with a warning and left in Redis.
2. Apps by `seq` (output profiles live inside the app config).
3. Record and push tasks by `seq`: not started here. They are handed over in
   `server.restored_tasks` (a RestoredTasks); the record/push publishers take
   theirs with `take("record")` / `take("push")` when they start.
Every entry goes through the same parser as the API. One that fails, or whose
vhost/app is missing, is skipped with an error log and kept in Redis, so it is
retried on the next start (deleting its vhost or app through the API removes it).
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from .store import Store, StoredTask

log = logging.getLogger(__name__)


@dataclass
class RestoredTasks:
    """Stored record/push tasks waiting for their publisher, each list in `seq` order.

    Restored tasks start in state `ready`, with `isConfig` false, and keep their
    `id`, `createdTime` and (records) file `sequence`."""

    records: list[StoredTask] = field(default_factory=list)
    pushes: list[StoredTask] = field(default_factory=list)

    def take(self, kind: str) -> list[StoredTask]:
        """Hand the tasks of one kind ("record" or "push") over, once."""
        if kind in ("record", "records"):
            tasks, self.records = self.records, []
        elif kind in ("push", "pushes"):
            tasks, self.pushes = self.pushes, []
        else:
            raise ValueError(f"unknown task kind {kind!r}")
        return tasks


@dataclass
class RestoreReport:
    vhosts: int = 0
    apps: int = 0
    records: int = 0
    pushes: int = 0
    skipped: list[str] = field(default_factory=list)   # one line per entry left in Redis


async def restore(server: Any, store: Store) -> RestoreReport:
    from ome.config import parse_application_json, parse_virtual_host_json

    registry = server.registry
    report = RestoreReport()
    state = await store.load()
    for key, fld, reason in state.undecodable:
        _skip(report, f"undecodable entry {key} [{fld}]: {reason}")

    for stored in state.vhosts:
        if stored.name in registry.vhosts:
            msg = (f"stored virtual host [{stored.name}] is also declared in Server.xml; Server.xml wins "
                   "(the stored one and its apps stay in the storage)")
            log.warning("restore: %s", msg)
            report.skipped.append(msg)
            continue
        try:
            vh_conf = parse_virtual_host_json(copy.deepcopy(stored.config))
            if getattr(vh_conf, "name", stored.name) != stored.name:
                raise ValueError(f"its config names [{vh_conf.name}]")
            template = None
            if stored.template is not None:
                template = parse_application_json(copy.deepcopy(stored.template))
            registry.add_vhost(stored.name, vh_conf, read_only=False, template=template)
        except Exception as exc:
            _skip(report, f"virtual host [{stored.name}] not restored: {_reason(exc)}")
            continue
        report.vhosts += 1

    for stored in state.apps:
        where = f"{stored.vhost}/{stored.name}"
        vhost = registry.vhosts.get(stored.vhost)
        if vhost is None or vhost.read_only:
            _skip(report, f"application [{where}] not restored: its virtual host was not restored")
            continue
        if stored.name in vhost.apps:
            _skip(report, f"application [{where}] not restored: it already exists")
            continue
        try:
            app_conf = parse_application_json(copy.deepcopy(stored.config))
            if getattr(app_conf, "name", stored.name) != stored.name:
                raise ValueError(f"its config names [{app_conf.name}]")
            await registry.create_app(vhost, app_conf)
        except Exception as exc:
            _skip(report, f"application [{where}] not restored: {_reason(exc)}")
            continue
        report.apps += 1

    tasks = RestoredTasks()
    for stored_list, out, kind in ((state.records, tasks.records, "record"), (state.pushes, tasks.pushes, "push")):
        for task in stored_list:
            vhost = registry.vhosts.get(task.vhost)
            if vhost is None or task.app not in vhost.apps:
                _skip(report, f"{kind} task [{task.vhost}/{task.app}/{task.id}] not restored: "
                              "its application does not exist")
                continue
            out.append(task)
    report.records, report.pushes = len(tasks.records), len(tasks.pushes)
    server.restored_tasks = tasks
    log.info("restored from the API storage: %d virtual host(s), %d application(s), %d record and %d push "
             "task(s)%s", report.vhosts, report.apps, report.records, report.pushes,
             f"; {len(report.skipped)} entr(y/ies) skipped and kept" if report.skipped else "")
    return report


def _skip(report: RestoreReport, msg: str) -> None:
    log.error("restore: %s; kept in the storage and retried at the next start", msg)
    report.skipped.append(msg)


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "ConfigError":
        return f"[Config] {exc}"
    return f"{name}: {exc}" if str(exc) else name

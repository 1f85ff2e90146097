"""Publishers built from `<Bind><Publishers>`: each is a registry StreamModule
and a Server listener (started after restore)."""
from __future__ import annotations

from typing import Any


class _TaskListener:
    """Server listener face of the record/push modules (whose start/stop are the API's)."""

    def __init__(self, module: Any) -> None:
        self.module = module

    async def start(self) -> None:
        await self.module.resume_restored()

    async def stop(self) -> None:
        await self.module.shutdown()


def install_publishers(server: Any) -> None:
    bind = server.config.bind.publishers if server.config.bind else None
    llhls = bind.llhls if bind is not None else None
    if llhls is not None and (llhls.port is not None or llhls.tls_port is not None):
        from .llhls import LlhlsPublisherModule
        module = LlhlsPublisherModule(server, llhls)
        server.llhls = module
        server.registry.add_stream_module(module)
        server.add_listener(module)
    # FILE and Push publishers: always there (as in OME); apps opt in with <FILE> / <Push>.
    from .push import PushModule
    from .record import RecordModule
    for attr, module in (("records", RecordModule(server)), ("pushes", PushModule(server))):
        setattr(server, attr, module)
        server.registry.add_stream_module(module)
        server.registry.add_module(module)
        server.add_listener(_TaskListener(module))

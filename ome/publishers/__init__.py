"""Publishers built from `<Bind><Publishers>`: each is a registry StreamModule
and a Server listener (started after restore)."""
from __future__ import annotations

from typing import Any


def install_publishers(server: Any) -> None:
    bind = server.config.bind.publishers if server.config.bind else None
    llhls = bind.llhls if bind is not None else None
    if llhls is not None and (llhls.port is not None or llhls.tls_port is not None):
        from .llhls import LlhlsPublisherModule
        module = LlhlsPublisherModule(server, llhls)
        server.llhls = module
        server.registry.add_stream_module(module)
        server.add_listener(module)

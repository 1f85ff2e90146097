"""Per-request context handed to handlers: path parameters, parsed body, resolved resources."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ome.api.errors import HttpError

if TYPE_CHECKING:
    from aiohttp import web

    from ome.runtime.registry import Application, Stream, VirtualHost


@dataclass
class Ctx:
    server: Any                       # ome.server.Server
    api: Any                          # ome.api.server.ApiServer
    request: "web.BaseRequest"
    path: str                         # raw path, query dropped, not percent-decoded
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None                  # parsed JSON (None: no body, or a route without one)
    vhost: "VirtualHost | None" = None
    app: "Application | None" = None
    stream: "Stream | None" = None

    # -- resolution (reference §2.9), in the order body, vhost, app, stream -------------------
    def resolve_vhost(self) -> "VirtualHost":
        name = self.params["vhost"]
        vhost = self.server.registry.vhosts.get(name)
        if vhost is None:
            raise HttpError(404, f"Could not find the virtual host: [{name}]")
        self.vhost = vhost
        return vhost

    def resolve_app(self) -> "Application":
        vhost = self.vhost or self.resolve_vhost()
        name = self.params["app"]
        app = vhost.apps.get(name)
        if app is None:
            raise HttpError(404, f"Could not find the application: [{vhost.name}/{name}]")
        self.app = app
        return app

    def resolve_stream(self) -> "Stream":
        app = self.app or self.resolve_app()
        name = self.params["stream"]
        stream = find_input_stream(app, name)
        if stream is None:
            raise HttpError(404, f"Could not find the stream: [{app.vhost.name}/{app.key}/{name}]")
        self.stream = stream
        return stream

    # -- helpers ---------------------------------------------------------
    def request_url(self) -> str:
        """The full API request URL, as OME prints it in a few error texts."""
        request = self.request
        host = request.headers.get("Host", "")
        return f"{request.scheme}://{host}{request.raw_path}"


def is_input_stream(stream: "Stream") -> bool:
    """Input streams are those not linked to another stream (outputs live in Stream.outputs)."""
    return getattr(stream, "origin", None) is None


def find_input_stream(app: "Application", name: str) -> "Stream | None":
    stream = app.streams.get(name)
    if stream is None or not is_input_stream(stream):
        return None
    return stream

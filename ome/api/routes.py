"""The /v1 route table (reference §3). Order matters: the first match wins, like OME's
interceptor chain, so `:action` routes come before the plain stream routes.

Path-parameter patterns follow OME (§2.9): vhost `[^/]*` (`[^/:]*` before a vhost action),
app `[^/:]*` (`[^/]*` under /v1/stats), stream and output profile `[^/]*`.

The OpenAPI document (GET /v1/openapi.json) is generated from this table.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ome.api import actions, apps, certs, channels, openapi, output_profiles, stats, streams, version, vhosts
from ome.api.context import Ctx
from ome.api.envelope import Reply

Handler = Callable[[Ctx], Awaitable[Reply]]

_PARAMS = {
    "vhost": r"[^/]*",
    "vhost_action": r"[^/:]*",
    "app": r"[^/:]*",
    "stats_app": r"[^/]*",
    "stream": r"[^/]*",
    "profile": r"[^/]*",
    "channel": r"[^/]*",
}
_GROUP_NAMES = {"vhost_action": "vhost", "stats_app": "app"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    out, last = [], 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[last:m.start()]))
        kind = m.group(1)
        out.append(f"(?P<{_GROUP_NAMES.get(kind, kind)}>{_PARAMS[kind]})")
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class Route:
    method: str
    template: str                     # e.g. /v1/vhosts/{vhost}/apps/{app}
    handler: Handler
    summary: str
    tag: str
    body: str | None = None           # None: no body read; "array" | "object" | "any": parsed first
    lookup: tuple[str, ...] = ()      # resources resolved (in order) before the handler
    success: int = 200
    batch: bool = False               # replies with a bare array (§2.8)
    exclusive: bool = False           # a config write: serialized with the other writes
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.template))

    @property
    def path_params(self) -> list[str]:
        return [_GROUP_NAMES.get(k, k) for k in _PLACEHOLDER.findall(self.template)]


V = "/v1/vhosts/{vhost}"
VA = "/v1/vhosts/{vhost_action}"
A = V + "/apps/{app}"
S = A + "/streams/{stream}"
_VA = ("vhost", "app")
_VAS = ("vhost", "app", "stream")

ROUTES: list[Route] = [
    Route("GET", "/v1/version", version.get_version, "Server version", "Server"),
    Route("GET", "/v1/openapi.json", openapi.get_openapi, "This OpenAPI document", "Server"),

    # virtual hosts
    Route("GET", "/v1/vhosts", vhosts.list_vhosts, "List virtual hosts", "VirtualHost"),
    Route("POST", "/v1/vhosts", vhosts.post_vhosts, "Create virtual hosts", "VirtualHost", body="array",
          batch=True, exclusive=True),
    Route("POST", "/v1/vhosts:reloadAllCertificates", certs.reload_all, "Reload all vhost certificates",
          "Certificate"),
    Route("POST", VA + ":reloadCertificate", certs.reload_vhost, "Reload a vhost certificate", "Certificate",
          lookup=("vhost",)),
    Route("GET", V, vhosts.get_vhost, "Get a virtual host", "VirtualHost", lookup=("vhost",)),
    Route("DELETE", V, vhosts.delete_vhost, "Delete a virtual host", "VirtualHost",
          lookup=("vhost",), exclusive=True),

    # applications
    Route("GET", V + "/apps", apps.list_apps, "List applications", "Application", lookup=("vhost",)),
    Route("POST", V + "/apps", apps.post_apps, "Create applications", "Application", body="array",
          lookup=("vhost",), batch=True, exclusive=True),
    Route("GET", A, apps.get_app, "Get an application", "Application", lookup=_VA),
    Route("PATCH", A, apps.patch_app, "Modify an application (re-creates it)", "Application", body="object",
          lookup=_VA, exclusive=True),
    Route("DELETE", A, apps.delete_app, "Delete an application", "Application", lookup=_VA, exclusive=True),

    # records and pushes
    Route("POST", A + ":startRecord", actions.start_record, "Start recording", "Record", body="object",
          lookup=_VA, exclusive=True),
    Route("POST", A + ":stopRecord", actions.stop_record, "Stop recording", "Record", body="object",
          lookup=_VA, exclusive=True),
    Route("POST", A + ":records", actions.list_records, "List recordings", "Record", body="object",
          lookup=_VA),
    Route("GET", A + ":records", actions.list_records, "List recordings (deprecated GET)", "Record",
          lookup=_VA),
    Route("POST", A + ":startPush", actions.start_push, "Start pushing", "Push", body="object",
          lookup=_VA, exclusive=True),
    Route("POST", A + ":stopPush", actions.stop_push, "Stop pushing", "Push", body="object",
          lookup=_VA, exclusive=True),
    Route("POST", A + ":pushes", actions.list_pushes, "List pushes", "Push", body="object", lookup=_VA),
    Route("GET", A + ":pushes", actions.list_pushes, "List pushes (deprecated GET)", "Push", lookup=_VA),

    # output profiles
    Route("GET", A + "/outputProfiles", output_profiles.list_profiles, "List output profiles", "OutputProfile",
          lookup=_VA),
    Route("POST", A + "/outputProfiles", output_profiles.post_profiles, "Create output profiles",
          "OutputProfile", body="array", lookup=_VA, batch=True, exclusive=True),
    Route("GET", A + "/outputProfiles/{profile}", output_profiles.get_profile, "Get an output profile",
          "OutputProfile", lookup=_VA),
    Route("PATCH", A + "/outputProfiles/{profile}", output_profiles.patch_profile,
          "Replace an output profile (re-creates the app)", "OutputProfile", body="object",
          lookup=_VA, exclusive=True),
    Route("DELETE", A + "/outputProfiles/{profile}", output_profiles.delete_profile, "Delete an output profile",
          "OutputProfile", lookup=_VA, exclusive=True),

    # streams: actions first, so `:action` is routed before a stream name containing ':'
    Route("POST", S + ":hlsDumps", actions.hls_dumps, "List HLS dumps", "HLSDump", body="object",
          lookup=_VAS),
    Route("POST", S + ":startHlsDump", actions.start_hls_dump, "Start an HLS dump", "HLSDump", body="object",
          lookup=_VAS),
    Route("POST", S + ":stopHlsDump", actions.stop_hls_dump, "Stop HLS dumps", "HLSDump", body="object",
          lookup=_VAS),
    Route("POST", S + ":sendEvent", actions.send_event, "Send an event (ID3v2, cue, SCTE-35)", "Event",
          body="object", lookup=_VAS),
    Route("POST", S + ":sendEvents", actions.send_events, "Send several events", "Event", body="array",
          lookup=_VAS, batch=True),
    Route("POST", S + ":concludeHlsLive", actions.conclude_hls_live, "End the HLS/LL-HLS live playlist",
          "Event", body="object", lookup=_VAS),
    Route("POST", S + ":sendSubtitles", actions.send_subtitles, "Send WebVTT subtitles", "Event",
          body="object", lookup=_VAS),
    Route("GET", A + "/streams", streams.list_streams, "List input streams", "Stream", lookup=_VA),
    Route("POST", A + "/streams", streams.post_stream, "Pull a stream", "Stream", body="object", lookup=_VA,
          success=201),
    Route("GET", S, streams.get_stream, "Get stream information", "Stream", lookup=_VAS),
    Route("DELETE", S, streams.delete_stream, "Terminate a stream", "Stream", lookup=_VAS),

    # scheduled and multiplex channels
    Route("GET", A + "/scheduledChannels", channels.list_scheduled, "List scheduled channels",
          "ScheduledChannel", lookup=_VA),
    Route("POST", A + "/scheduledChannels", channels.create_scheduled, "Create a scheduled channel",
          "ScheduledChannel", body="object", lookup=_VA, success=201),
    Route("GET", A + "/scheduledChannels/{stream}", channels.get_scheduled, "Get a scheduled channel",
          "ScheduledChannel", lookup=_VAS),
    Route("PATCH", A + "/scheduledChannels/{stream}", channels.patch_scheduled, "Modify a scheduled channel",
          "ScheduledChannel", body="object", lookup=_VAS, success=201),
    Route("DELETE", A + "/scheduledChannels/{stream}", channels.delete_scheduled, "Delete a scheduled channel",
          "ScheduledChannel", lookup=_VAS),
    Route("GET", A + "/multiplexChannels", channels.list_multiplex, "List multiplex channels",
          "MultiplexChannel", lookup=_VA),
    Route("POST", A + "/multiplexChannels", channels.create_multiplex, "Create a multiplex channel",
          "MultiplexChannel", body="object", lookup=_VA, success=201),
    Route("GET", A + "/multiplexChannels/{channel}", channels.get_multiplex, "Get a multiplex channel",
          "MultiplexChannel", lookup=_VA),
    Route("DELETE", A + "/multiplexChannels/{channel}", channels.delete_multiplex, "Delete a multiplex channel",
          "MultiplexChannel", lookup=_VA),

    # statistics
    Route("GET", "/v1/stats/current", stats.server_stats, "Server statistics", "Statistics"),
    Route("GET", "/v1/stats/current/internals", stats.internals, "Internal statistics index", "Statistics"),
    Route("GET", "/v1/stats/current/internals/queues", stats.queues, "Internal queue statistics",
          "Statistics"),
    Route("GET", "/v1/stats/current/vhosts/{vhost}", stats.vhost_stats, "Virtual host statistics",
          "Statistics", lookup=("vhost",)),
    Route("GET", "/v1/stats/current/vhosts/{vhost}/apps/{stats_app}", stats.app_stats,
          "Application statistics", "Statistics", lookup=_VA),
    Route("GET", "/v1/stats/current/vhosts/{vhost}/apps/{stats_app}/streams/{stream}", stats.stream_stats,
          "Stream statistics", "Statistics", lookup=_VAS),

    # the API server's own certificate
    Route("POST", "/v1/managers/api:reloadCertificate", certs.reload_api, "Reload the API server certificate",
          "Certificate"),
]

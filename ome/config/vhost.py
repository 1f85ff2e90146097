"""`<VirtualHost>` (reference §8.5); also the JSON of `/v1/vhosts`."""
from __future__ import annotations

from typing import Annotated, Any

from .application import ApplicationConfig
from .common import CrossDomains, Host
from .errors import Invalid
from .spec import L, ConfigModel, Ctx, X, to_plain, warn


class Enables(ConfigModel):
    """Comma lists, case-insensitive: `rtmp,webrtc,srt` / `webrtc,llhls`."""

    providers: Annotated[str, X("Providers")] = ""
    publishers: Annotated[str, X("Publishers")] = ""


class SignedPolicy(ConfigModel):
    policy_query_key_name: Annotated[str, X("PolicyQueryKeyName", required=True)] = ""
    signature_query_key_name: Annotated[str, X("SignatureQueryKeyName", required=True)] = ""
    secret_key: Annotated[str, X("SecretKey", required=True)] = ""
    enables: Annotated[Enables | None, X("Enables", required=True)] = None


class AdmissionWebhooks(ConfigModel):
    control_server_url: Annotated[str, X("ControlServerUrl", required=True)] = ""
    secret_key: Annotated[str, X("SecretKey", required=True)] = ""
    timeout: Annotated[int, X("Timeout", required=True)] = 3000
    enables: Annotated[Enables | None, X("Enables", required=True)] = None


class OriginProperties(ConfigModel):
    """Milliseconds."""

    no_input_failover_timeout: Annotated[int, X("NoInputFailoverTimeout")] = 3000
    unused_stream_deletion_timeout: Annotated[int, X("UnusedStreamDeletionTimeout")] = 60000
    stream_failback_timeout: Annotated[int, X("StreamFailbackTimeout")] = 3000
    retry_count: Annotated[int, X("RetryCount")] = 1


class OriginPass(ConfigModel):
    scheme: Annotated[str, X("Scheme", required=True)] = ""          # ovt, rtsp, srt, ...
    urls: Annotated[list[str], L("Url", wrapper="Urls", required=True)] = []
    forward_query_params: Annotated[bool, X("ForwardQueryParams")] = True


class Origin(ConfigModel):
    location: Annotated[str, X("Location", required=True)] = ""      # e.g. /app/stream
    pass_: Annotated[OriginPass | None, X("Pass", "pass", required=True)] = None
    persistent: Annotated[bool, X("Persistent")] = False
    failback: Annotated[bool, X("Failback")] = False
    strict_location: Annotated[bool, X("StrictLocation")] = False
    relay: Annotated[bool, X("Relay")] = False
    ignore_rtcp_sr_timestamp: Annotated[bool, X("IgnoreRtcpSRTimestamp")] = False


class Origins(ConfigModel):
    properties: Annotated[OriginProperties | None, X("Properties")] = None
    origin: Annotated[list[Origin], L("Origin")] = []


def _check_redis_host(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise Invalid(f"Invalid host format {value} > it must be host:port")


class RedisServer(ConfigModel):
    host: Annotated[str, X("Host", required=True, check=_check_redis_host)] = ""
    auth: Annotated[str, X("Auth")] = ""


class OriginMapStore(ConfigModel):
    redis_server: Annotated[RedisServer | None, X("RedisServer", required=True)] = None
    origin_host_name: Annotated[str, X("OriginHostName")] = ""


class VirtualHostConfig(ConfigModel):
    """A virtual host. `applications` holds every declared app, a `*` template included."""

    name: Annotated[str, X("Name", required=True)] = ""
    distribution: Annotated[str, X("Distribution")] = "ovenmediaengine.com"
    host: Annotated[Host | None, X("Host")] = None
    signed_policy: Annotated[SignedPolicy | None, X("SignedPolicy")] = None
    admission_webhooks: Annotated[AdmissionWebhooks | None, X("AdmissionWebhooks")] = None
    origins: Annotated[Origins | None, X("Origins")] = None
    origin_map_store: Annotated[OriginMapStore | None, X("OriginMapStore")] = None
    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None   # deprecated here
    applications: Annotated[list[ApplicationConfig], L("Application", wrapper="Applications", bare=True)] = []

    @property
    def source_json(self) -> Any:
        """What `GET /v1/vhosts/{v}` shows: the vhost without `applications`."""
        src = self._source or {}
        return to_plain({k: v for k, v in src.items() if k != "applications"})

    @property
    def template(self) -> ApplicationConfig | None:
        """The `<Name>*</Name>` application, if any."""
        return next((a for a in self.applications if a.name == "*"), None)

    def finalize(self, ctx: Ctx) -> None:
        if self.cross_domains is not None:
            warn(self.source_loc, "<CrossDomains> in <VirtualHost> is deprecated: use <Server><Defaults><CrossDomains>")

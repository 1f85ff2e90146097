"""`<Server><Bind>` (reference §8.3): listening ports. An absent section is off.

TLS ports are never implicit (None unless written); plain ports default to
OME's per-module port when the module element exists without `<Port>`.
`is_set("port")` tells a written port from the default.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .common import KeyValue
from .ports import Port, RangedPort
from .spec import L, ConfigModel, X


# -- Managers ---------------------------------------------------------------
class ApiBind(ConfigModel):
    """`<Bind><Managers><API>`: the REST API server. No port is implicit (§2.1)."""

    port: Annotated[Port | None, X("Port")] = None
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1


class ManagersBind(ConfigModel):
    api: Annotated[ApiBind | None, X("API", "api")] = None


# -- Providers --------------------------------------------------------------
class RtmpBind(ConfigModel):
    port: Annotated[Port, X("Port")] = Port(1935, "tcp")
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1
    thread_per_socket: Annotated[bool, X("ThreadPerSocket")] = False


class RtspBind(ConfigModel):
    """Parsed like OME; OME never starts an RTSP push listener."""

    port: Annotated[Port, X("Port")] = Port(554, "tcp")
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1
    thread_per_socket: Annotated[bool, X("ThreadPerSocket")] = False


class WorkerBind(ConfigModel):
    """Pull clients (`RTSPC`, `OVT` provider): no port, just workers."""

    worker_count: Annotated[int, X("WorkerCount")] = 1


class SrtStreamMapEntry(ConfigModel):
    """`<StreamMap><Stream><Port/><StreamPath/>`: a port that maps to one stream path."""

    port: Annotated[int, X("Port", required=True)] = 0
    stream_path: Annotated[str, X("StreamPath", required=True)] = ""


class SrtBind(ConfigModel):
    port: Annotated[RangedPort, X("Port")] = Field(default_factory=lambda: RangedPort([9999], "srt"))
    worker_count: Annotated[int, X("WorkerCount")] = 1
    thread_per_socket: Annotated[bool, X("ThreadPerSocket")] = False
    options: Annotated[list[KeyValue], L("Option", wrapper="Options", bare=True)] = []
    stream_map: Annotated[list[SrtStreamMapEntry], L("Stream", wrapper="StreamMap", bare=True)] = []


class MpegtsBind(ConfigModel):
    port: Annotated[RangedPort, X("Port")] = Field(default_factory=lambda: RangedPort([4000], "udp"))
    worker_count: Annotated[int, X("WorkerCount")] = 1


class SignallingBind(ConfigModel):
    """WebRTC signalling (WHIP shares it)."""

    port: Annotated[Port, X("Port")] = Port(3333, "tcp")
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1


class IceCandidates(ConfigModel):
    """`IceCandidate*` like `*:10000-10004/udp` (see ports.parse_ice_candidate), `TcpRelay*` like `*:3478`."""

    ice_candidate: Annotated[list[str], L("IceCandidate")] = []
    tcp_relay: Annotated[list[str], L("TcpRelay")] = []
    enable_link_local_address: Annotated[bool, X("EnableLinkLocalAddress")] = False
    tcp_relay_worker_count: Annotated[int, X("TcpRelayWorkerCount")] = 1
    ice_worker_count: Annotated[int, X("IceWorkerCount")] = 1
    tcp_force: Annotated[bool, X("TcpForce")] = False


class IceServer(ConfigModel):
    urls: Annotated[list[str], L("Url", wrapper="Urls", required=True)] = []
    user_name: Annotated[str, X("UserName")] = ""
    credential: Annotated[str, X("Credential")] = ""


class WebRtcBind(ConfigModel):
    signalling: Annotated[SignallingBind | None, X("Signalling")] = None
    tcp_relay_bind: Annotated[str, X("TcpRelayBind")] = ""
    ice_candidates: Annotated[IceCandidates | None, X("IceCandidates")] = None
    ice_servers: Annotated[list[IceServer], L("IceServer", wrapper="IceServers")] = []


class ProvidersBind(ConfigModel):
    rtmp: Annotated[RtmpBind | None, X("RTMP", "rtmp")] = None
    rtsp: Annotated[RtspBind | None, X("RTSP", "rtsp")] = None
    rtspc: Annotated[WorkerBind | None, X("RTSPC", "rtspc")] = None
    ovt: Annotated[WorkerBind | None, X("OVT", "ovt")] = None
    srt: Annotated[SrtBind | None, X("SRT", "srt")] = None
    mpegts: Annotated[MpegtsBind | None, X("MPEGTS", "mpegts")] = None
    webrtc: Annotated[WebRtcBind | None, X("WebRTC", "webrtc")] = None


# -- Publishers -------------------------------------------------------------
class OvtPublisherBind(ConfigModel):
    port: Annotated[Port, X("Port")] = Port(9000, "tcp")
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1


class HttpPublisherBind(ConfigModel):
    """LLHLS / HLS / Thumbnail: need an explicit Port or TLSPort
    (else "Server is disabled - No port is configured")."""

    port: Annotated[Port | None, X("Port")] = None
    tls_port: Annotated[Port | None, X("TLSPort", "tlsPort")] = None
    worker_count: Annotated[int, X("WorkerCount")] = 1


class SrtPublisherBind(ConfigModel):
    port: Annotated[RangedPort, X("Port")] = Field(default_factory=lambda: RangedPort([9998], "srt"))
    worker_count: Annotated[int, X("WorkerCount")] = 1
    thread_per_socket: Annotated[bool, X("ThreadPerSocket")] = False
    options: Annotated[list[KeyValue], L("Option", wrapper="Options", bare=True)] = []
    stream_map: Annotated[list[SrtStreamMapEntry], L("Stream", wrapper="StreamMap", bare=True)] = []


class PublishersBind(ConfigModel):
    ovt: Annotated[OvtPublisherBind | None, X("OVT", "ovt")] = None
    llhls: Annotated[HttpPublisherBind | None, X("LLHLS", "llhls")] = None
    hls: Annotated[HttpPublisherBind | None, X("HLS", "hls")] = None
    thumbnail: Annotated[HttpPublisherBind | None, X("Thumbnail", "thumbnail")] = None
    webrtc: Annotated[WebRtcBind | None, X("WebRTC", "webrtc")] = None
    srt: Annotated[SrtPublisherBind | None, X("SRT", "srt")] = None


class Bind(ConfigModel):
    managers: Annotated[ManagersBind | None, X("Managers")] = None
    providers: Annotated[ProvidersBind | None, X("Providers")] = None
    publishers: Annotated[PublishersBind | None, X("Publishers")] = None

"""`<Server>` (reference §8.1, §8.2, §8.4, §6.1): the root of Server.xml."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field

from .bind import Bind
from .common import CrossDomains, Host
from .spec import L, ConfigModel, Ctx, X, one_of, to_bitrate
from .vhost import VirtualHostConfig


# -- Modules (each has Enable) ----------------------------------------------
class EnabledModule(ConfigModel):
    enable: Annotated[bool, X("Enable")] = True


class DisabledModule(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False


class P2PModule(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    max_client_peers_per_host_peer: Annotated[int, X("MaxClientPeersPerHostPeer")] = 2


class RecoveryModule(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    delete_lazy_stream_timeout: Annotated[int, X("DeleteLazyStreamTimeout")] = 0


class Modules(ConfigModel):
    """Always an instance: an absent module keeps its default."""

    http2: Annotated[EnabledModule, X("HTTP2")] = Field(default_factory=EnabledModule)
    llhls: Annotated[EnabledModule, X("LLHLS")] = Field(default_factory=EnabledModule)
    p2p: Annotated[P2PModule, X("P2P", "p2p")] = Field(default_factory=P2PModule)
    recovery: Annotated[RecoveryModule, X("Recovery")] = Field(default_factory=RecoveryModule)
    dynamic_app_removal: Annotated[DisabledModule, X("DynamicAppRemoval")] = Field(default_factory=DisabledModule)
    etag: Annotated[DisabledModule, X("ETag")] = Field(default_factory=DisabledModule)
    ertmp: Annotated[DisabledModule, X("ERTMP")] = Field(default_factory=DisabledModule)


# -- Managers -----------------------------------------------------------------
class Redis(ConfigModel):
    """Ours (§6.1): an external Redis instead of the embedded one."""

    url: Annotated[str, X("Url")] = ""                       # redis://, rediss://, unix://
    key_prefix: Annotated[str | None, X("KeyPrefix")] = None   # None = "ome:" + <Server><Name>


class Storage(ConfigModel):
    """Persistence of API-created state (§6.1). `path` is absolute."""

    enabled: Annotated[bool, X("Enabled")] = True
    path: Annotated[str, X("Path", path=True)] = "api_data"
    redis: Annotated[Redis | None, X("Redis")] = None

    def finalize(self, ctx: Ctx) -> None:
        if not self.is_set("path") and self._base:
            self._fill("path", os.path.join(self._base, "api_data"))


class ManagersApi(ConfigModel):
    access_token: Annotated[str, X("AccessToken", required=True)] = ""   # empty: the API fails to start
    storage: Annotated[Storage | None, X("Storage")] = None
    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None


class Managers(ConfigModel):
    host: Annotated[Host | None, X("Host", required=True)] = None
    api: Annotated[ManagersApi | None, X("API", "api")] = None


# -- Alert --------------------------------------------------------------------
class IngressRules(ConfigModel):
    stream_status: Annotated[bool, X("StreamStatus", flag=True)] = False
    min_bitrate: Annotated[int | None, X("MinBitrate", conv=to_bitrate)] = None
    max_bitrate: Annotated[int | None, X("MaxBitrate", conv=to_bitrate)] = None
    min_framerate: Annotated[float | None, X("MinFramerate")] = None
    max_framerate: Annotated[float | None, X("MaxFramerate")] = None
    min_width: Annotated[int | None, X("MinWidth")] = None
    max_width: Annotated[int | None, X("MaxWidth")] = None
    min_height: Annotated[int | None, X("MinHeight")] = None
    max_height: Annotated[int | None, X("MaxHeight")] = None
    min_samplerate: Annotated[int | None, X("MinSamplerate")] = None
    max_samplerate: Annotated[int | None, X("MaxSamplerate")] = None
    long_key_frame_interval: Annotated[bool, X("LongKeyFrameInterval", flag=True)] = False
    has_b_frames: Annotated[bool, X("HasBFrames", flag=True)] = False


class EgressRules(ConfigModel):
    stream_status: Annotated[bool, X("StreamStatus", flag=True)] = False
    llhls_ready: Annotated[bool, X("LLHLSReady", flag=True)] = False
    hls_ready: Annotated[bool, X("HLSReady", flag=True)] = False
    transcode_status: Annotated[bool, X("TranscodeStatus", flag=True)] = False


class AlertRules(ConfigModel):
    ingress: Annotated[IngressRules | None, X("Ingress")] = None
    egress: Annotated[EgressRules | None, X("Egress")] = None
    internal_queue_congestion: Annotated[bool, X("InternalQueueCongestion", flag=True)] = False


class Alert(ConfigModel):
    url: Annotated[str, X("Url", required=True)] = ""
    secret_key: Annotated[str, X("SecretKey", required=True)] = ""
    timeout: Annotated[int, X("Timeout", required=True)] = 0     # ms
    rules_file: Annotated[str, X("RulesFile", path=True)] = ""
    rules: Annotated[AlertRules | None, X("Rules")] = None


# -- Analytics, Defaults ------------------------------------------------------
class Forwarding(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    collector: Annotated[str, X("Collector")] = "tcp://collector.ovenconsole.io:21514"


class Analytics(ConfigModel):
    user_key: Annotated[str, X("UserKey")] = ""
    forwarding: Annotated[Forwarding | None, X("Forwarding")] = None


class Defaults(ConfigModel):
    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None   # default CORS of every vhost


# -- Server -------------------------------------------------------------------
class ServerConfig(ConfigModel):
    name: Annotated[str, X("Name")] = ""
    type: Annotated[str, X("Type", required=True, check=one_of(("origin", "edge"), "Unknown type: {}"))] = "origin"
    ip: Annotated[list[str], L("IP", "ip", required=True)] = []
    stun_server: Annotated[str, X("StunServer")] = ""
    privacy_protection: Annotated[bool, X("PrivacyProtection")] = False
    bind: Annotated[Bind, X("Bind", required=True)] = Field(default_factory=Bind)
    modules: Annotated[Modules, X("Modules")] = Field(default_factory=Modules)
    managers: Annotated[Managers | None, X("Managers")] = None
    alert: Annotated[Alert | None, X("Alert")] = None
    analytics: Annotated[Analytics | None, X("Analytics")] = None
    defaults: Annotated[Defaults | None, X("Defaults")] = None
    virtual_hosts: Annotated[list[VirtualHostConfig], L("VirtualHost", wrapper="VirtualHosts", bare=True)] = []

    # Not elements: set by load_server_config.
    version: int = 0
    config_file: Path = Path("Server.xml")
    config_dir: Path = Path(".")

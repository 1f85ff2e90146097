"""`<Application>` (reference §8.6); also the JSON of `/v1/vhosts/{v}/apps`."""
from __future__ import annotations

from typing import Annotated

from .output_profiles import OutputProfiles
from .providers import Providers
from .publishers import Publishers
from .spec import L, ConfigModel, X, one_of


class AppDecodesVideo(ConfigModel):
    hardware_acceleration: Annotated[bool, X("HardwareAcceleration", required=True)] = False


class AppDecodes(ConfigModel):
    """Deprecated application-level `<Decodes>`."""

    video: Annotated[AppDecodesVideo | None, X("Video")] = None
    h264_has_bframes: Annotated[int, X("H264hasBframes")] = 16


class PersistentStream(ConfigModel):
    name: Annotated[str, X("Name", required=True)] = ""
    origin_stream_name: Annotated[str, X("OriginStreamName")] = "*"
    fallback_stream_name: Annotated[str, X("FallbackStreamName")] = ""


class TranscodeWebhook(ConfigModel):
    enable: Annotated[bool, X("Enable", required=True)] = False
    control_server_url: Annotated[str, X("ControlServerUrl", required=True)] = ""
    secret_key: Annotated[str, X("SecretKey", required=True)] = ""
    timeout: Annotated[int, X("Timeout")] = 1500
    use_local_profiles_on_connection_failure: Annotated[bool, X("UseLocalProfilesOnConnectionFailure")] = True
    use_local_profiles_on_server_disallow: Annotated[bool, X("UseLocalProfilesOnServerDisallow")] = False
    use_local_profiles_on_error_response: Annotated[bool, X("UseLocalProfilesOnErrorResponse")] = False


class AppEventGenerator(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    path: Annotated[str, X("Path")] = ""


class ApplicationConfig(ConfigModel):
    """An application. `source_json` = what `GET .../apps/{a}` shows minus `dynamic`."""

    name: Annotated[str, X("Name", required=True)] = ""      # "*" = the vhost's template
    type: Annotated[str, X("Type", required=True, check=one_of(("live", "vod"), "Unknown type: {}"))] = "live"
    output_profiles: Annotated[OutputProfiles | None, X("OutputProfiles")] = None
    providers: Annotated[Providers | None, X("Providers")] = None
    publishers: Annotated[Publishers | None, X("Publishers")] = None
    decodes: Annotated[AppDecodes | None, X("Decodes", "decodes")] = None
    persistent_streams: Annotated[list[PersistentStream], L("Stream", wrapper="PersistentStreams")] = []
    transcode_webhook: Annotated[TranscodeWebhook | None, X("TranscodeWebhook")] = None
    event_generator: Annotated[AppEventGenerator | None, X("EventGenerator")] = None


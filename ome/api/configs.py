"""The API's bridge to the config engine: parse API JSON, echo source JSON, POST-app defaults."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ome.api.errors import ConfigFailure

if TYPE_CHECKING:
    from ome.runtime.registry import Application, VirtualHost

# POST …/apps: each missing key is inserted independently (reference §4.2).
DEFAULT_PROVIDERS: dict[str, Any] = {"ovt": {}, "rtmp": {}, "rtspPull": {}, "srt": {}, "webrtc": {}}
DEFAULT_PUBLISHERS: dict[str, Any] = {"llhls": {}, "ovt": {}, "webrtc": {}}
DEFAULT_OUTPUT_PROFILES: dict[str, Any] = {
    "outputProfile": [{
        "encodes": {
            "audios": [
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "opus",
                 "name": "opus", "samplerate": 48000},
                {"bitrate": 128000, "bypassIfMatch": {"codec": "eq"}, "channel": 2, "codec": "aac",
                 "name": "aac", "samplerate": 48000},
            ],
            "videos": [{"bypass": True, "name": "bypass_video"}],
        },
        "name": "default",
        "outputStreamName": "${OriginStreamName}",
    }],
}


def fill_app_defaults(item: Any) -> Any:
    """A copy of a posted app with OME's defaults for absent providers/publishers/outputProfiles."""
    item = copy.deepcopy(item)
    if isinstance(item, dict):
        if "providers" not in item:
            item["providers"] = copy.deepcopy(DEFAULT_PROVIDERS)
        if "publishers" not in item:
            item["publishers"] = copy.deepcopy(DEFAULT_PUBLISHERS)
        if "outputProfiles" not in item:
            item["outputProfiles"] = copy.deepcopy(DEFAULT_OUTPUT_PROFILES)
    return item


def parse_app(obj: Any) -> Any:
    """ApplicationConfig from API JSON; ConfigError -> ConfigFailure (`[Config] …`, 400)."""
    from ome.config import ConfigError, parse_application_json
    try:
        return parse_application_json(copy.deepcopy(obj))
    except ConfigError as exc:
        raise ConfigFailure(str(exc)) from None


def parse_vhost(obj: Any) -> Any:
    from ome.config import ConfigError, parse_virtual_host_json
    try:
        return parse_virtual_host_json(copy.deepcopy(obj))
    except ConfigError as exc:
        raise ConfigFailure(str(exc)) from None


def app_source(config: Any) -> dict[str, Any]:
    """The app config JSON as OME echoes it, without `dynamic` (a deep copy, safe to edit)."""
    source = copy.deepcopy(config.source_json)
    if isinstance(source, dict):
        source.pop("dynamic", None)
        return source
    return {}


def app_config_json(app: "Application") -> dict[str, Any]:
    """An app's config JSON (GET minus `dynamic`); an app made from the `*` template shows its own name."""
    body = app_source(app.config)
    if "name" in body:
        body["name"] = app.name
    return body


def app_json(app: "Application") -> dict[str, Any]:
    """GET …/apps/{a}: the config JSON plus `dynamic`."""
    body = app_config_json(app)
    body["dynamic"] = bool(app.dynamic)
    return body


def vhost_json(vhost: "VirtualHost") -> dict[str, Any]:
    """GET /v1/vhosts/{v}: the source JSON without `applications`."""
    source = copy.deepcopy(vhost.config.source_json)
    if not isinstance(source, dict):
        return {}
    source.pop("applications", None)
    return source


def output_profiles_of(source: dict[str, Any]) -> list[Any]:
    """The `outputProfiles.outputProfile` list inside an app source JSON (created when absent)."""
    profiles = source.get("outputProfiles")
    if not isinstance(profiles, dict):
        profiles = {}
        source["outputProfiles"] = profiles
    items = profiles.get("outputProfile")
    if isinstance(items, dict):          # a single item written without the array
        items = [items]
        profiles["outputProfile"] = items
    if not isinstance(items, list):
        items = []
        profiles["outputProfile"] = items
    return items


def profile_name(profile: Any) -> Any:
    return profile.get("name") if isinstance(profile, dict) else None


def find_profile(source: dict[str, Any], name: str) -> int:
    for index, profile in enumerate(output_profiles_of(source)):
        if profile_name(profile) == name:
            return index
    return -1


def has_publisher(config: Any, attr: str, json_key: str) -> bool:
    """Whether the app config enables a publisher (FILE: file, Push: push and its deprecated forms)."""
    publishers = getattr(config, "publishers", None)
    if publishers is not None and getattr(publishers, attr, None) is not None:
        return True
    source = getattr(config, "source_json", None)
    if isinstance(source, dict) and isinstance(source.get("publishers"), dict):
        return json_key in source["publishers"]
    return False


def has_provider(config: Any, attr: str, json_key: str) -> bool:
    providers = getattr(config, "providers", None)
    if providers is not None and getattr(providers, attr, None) is not None:
        return True
    source = getattr(config, "source_json", None)
    if isinstance(source, dict) and isinstance(source.get("providers"), dict):
        return json_key in source["providers"]
    return False

"""The config engine: one pydantic model tree for Server.xml and the API JSON.

See docs/CONTRACTS.md and the reference §7-§9.
"""
from .application import ApplicationConfig
from .errors import ConfigError
from .json_reader import parse_application_json, parse_virtual_host_json
from .ports import Port, RangedPort, parse_ice_candidate, parse_port, parse_ranged_port
from .server import ServerConfig
from .vhost import VirtualHostConfig
from .xml_reader import load_server_config

__all__ = [
    "ApplicationConfig",
    "ConfigError",
    "Port",
    "RangedPort",
    "ServerConfig",
    "VirtualHostConfig",
    "load_server_config",
    "parse_application_json",
    "parse_ice_candidate",
    "parse_port",
    "parse_ranged_port",
    "parse_virtual_host_json",
]

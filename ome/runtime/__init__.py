"""Runtime: the registry of vhosts -> apps -> streams and the modules that plug into it."""
from .registry import (AppExists, AppModule, AppNotFound, Application, Registry, Stream, StreamModule,
                       VirtualHost, VHostExists, VHostNotFound)

__all__ = ["AppExists", "AppModule", "AppNotFound", "Application", "Registry", "Stream", "StreamModule",
           "VirtualHost", "VHostExists", "VHostNotFound"]

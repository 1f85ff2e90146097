"""ome: a live streaming server, drop-in for OvenMediaEngine, with a native C media core."""

__version__ = "0.1.0"
# The OME REST API level we are compatible with (reported by GET /v1/version).
OME_API_VERSION = "0.20.0"

"""Output streams from an application's OutputProfiles (bypass today; the native transcoder later)."""
from .bypass import create_outputs

__all__ = ["create_outputs"]

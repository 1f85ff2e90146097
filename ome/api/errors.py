"""Errors a handler raises; the pipeline turns them into OME's replies.

Two shapes, as in OME (reference §2.8):
- HttpError: `[HTTP] <text> (<code>)` in a single reply, the raw `<text>` inside a batch array;
- ConfigFailure: `[Config] <text>` (no code) with HTTP 400, the same text inside a batch array.
"""
from __future__ import annotations


class ApiError(Exception):
    status: int

    @property
    def message(self) -> str:
        """The `message` of a single (enveloped) reply."""
        raise NotImplementedError

    @property
    def raw(self) -> str:
        """The `message` of a batch element."""
        raise NotImplementedError


class HttpError(ApiError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    @property
    def message(self) -> str:
        return f"[HTTP] {self.text} ({self.status})"

    @property
    def raw(self) -> str:
        return self.text


class ConfigFailure(ApiError):
    """A config-engine error (ome.config.ConfigError) surfaced through the API."""

    status = 400

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    @property
    def message(self) -> str:
        return f"[Config] {self.text}"

    @property
    def raw(self) -> str:
        return self.message

    def as_http(self) -> HttpError:
        """Output-profile writes re-raise config errors as HTTP: `[HTTP] [Config] … (400)`."""
        return HttpError(400, self.message)


class StatusOnly(ApiError):
    """A reply that is just a status with its phrase, e.g. `{"message":"Forbidden","statusCode":403}`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status

    @property
    def message(self) -> str:
        from ome.api.envelope import phrase
        return phrase(self.status)

    @property
    def raw(self) -> str:
        return self.message


def internal_error() -> HttpError:
    """Fix: unexpected exceptions never leak their text."""
    return HttpError(500, "Internal Server Error")


def storage_unavailable() -> HttpError:
    return HttpError(503, "Could not store the API data: storage unavailable")

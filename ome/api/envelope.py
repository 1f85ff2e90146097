"""OME's reply envelope, reason phrases and batch (multi-status) replies (reference §2.5, §2.8)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ome.api.errors import ApiError

# OME's own phrase table; used for the JSON `message` and the status line alike.
PHRASES: dict[int, str] = {
    200: "OK",
    201: "Created",
    204: "No Content",
    207: "Multi Status",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    423: "Locked",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

MISSING: Any = object()


def phrase(status: int) -> str:
    return PHRASES.get(status, "Unknown")


def envelope(status: int = 200, response: Any = MISSING) -> dict[str, Any]:
    """`{"message":<phrase>,"statusCode":N}` plus `"response"` when there is a payload."""
    body: dict[str, Any] = {"message": phrase(status), "statusCode": status}
    if response is not MISSING:
        body["response"] = response
    return body


def error_envelope(error: ApiError) -> dict[str, Any]:
    return {"message": error.message, "statusCode": error.status}


def error_element(error: ApiError) -> dict[str, Any]:
    """A failed item inside a batch array: the raw text, no `[HTTP]`, no code suffix."""
    return {"message": error.raw, "statusCode": error.status}


@dataclass
class Reply:
    """What a handler returns: a status and a JSON document (already enveloped or a bare array)."""

    status: int
    body: Any


def ok(response: Any = MISSING, status: int = 200) -> Reply:
    return Reply(status, envelope(status, response))


@dataclass
class Batch:
    """Collects per-item results of a batch endpoint, in input order."""

    items: list[dict[str, Any]] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)

    def success(self, response: Any = MISSING, status: int = 200) -> None:
        self.items.append(envelope(status, response))
        self.codes.append(status)

    def failure(self, error: ApiError) -> None:
        self.items.append(error_element(error))
        self.codes.append(error.status)

    def reply(self) -> Reply:
        return Reply(batch_status(self.codes), self.items)


def batch_status(codes: list[int]) -> int:
    """All elements equal -> that status; mixed -> 207; empty -> 200."""
    if not codes:
        return 200
    first = codes[0]
    return first if all(code == first for code in codes) else 207

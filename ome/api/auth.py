"""HTTP Basic authentication against `<Managers><API><AccessToken>` (reference §2.3).

The decoded credentials are compared with the whole token (no user/password split). The
base64 decode and the constant-time compare run in the native core; the header splitting
and OME's five texts stay here.
"""
from __future__ import annotations

from ome import native
from ome.api.errors import HttpError

WWW_AUTHENTICATE = 'Basic realm="OvenMediaEngine"'


class Authenticator:
    def __init__(self, access_token: str) -> None:
        self._token = access_token.encode("utf-8")

    def check(self, authorization: str | None) -> None:
        """Raise HttpError(401, …) unless `authorization` carries the access token."""
        if not authorization:
            raise HttpError(401, "Authorization header is required to call API")
        tokens = authorization.split(" ")
        if len(tokens) != 2:
            raise HttpError(401, "Invalid authorization header")
        scheme, credentials = tokens
        if not (scheme.isascii() and scheme.upper() == "BASIC"):
            raise HttpError(401, f"Not supported credential type: {scheme}")
        result = native.basic_auth_check(credentials.encode("utf-8", "surrogateescape"), self._token)
        if result == native.AUTH_BAD_FORMAT:
            raise HttpError(401, "Invalid credential format")
        if result != native.AUTH_OK:
            raise HttpError(401, "Invalid credential")

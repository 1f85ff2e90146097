"""Config errors.

`ConfigError` is what callers see: its text is OME's text (without the
`[Config] ` prefix the API adds); XML errors append ` in <file>:<line>`.
`Invalid` is raised by converters and validators that do not know where the
value came from; the model builder turns it into a located ConfigError.
"""
from __future__ import annotations

Loc = tuple[str, int]  # (absolute file, line)


class ConfigError(Exception):
    def __init__(self, message: str, loc: Loc | None = None) -> None:
        self.message = message
        self.file: str | None = loc[0] if loc else None
        self.line: int | None = loc[1] if loc else None
        text = message if loc is None else f"{message} in {loc[0]}:{loc[1]}"
        super().__init__(text)


class Invalid(Exception):
    """A validation failure without location; `field` names the python field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

"""Request-body JSON parsing, lenient the way OME's JsonCpp Reader is.

- `//` and `/* */` comments where JsonCpp allows them;
- anything after the first complete value is ignored;
- duplicate keys are accepted, the last one wins;
- an empty body is JSON null (each handler then rejects it with its own text);
- integers stay integers up to the 64-bit range (then they become doubles), any number with
  '.', 'e' or 'E' is a double;
- errors carry JsonCpp's frame: `* Line L, Column C\\n  <reason>\\n`, columns counted in bytes.

The parser is iterative (explicit stack) so hostile nesting cannot exhaust Python's stack;
nesting deeper than JsonCpp's limit of 1000 is rejected.
"""
from __future__ import annotations

from typing import Any

STACK_LIMIT = 1000

# token types
_OBJ_BEGIN, _OBJ_END, _ARR_BEGIN, _ARR_END, _STRING, _NUMBER, _TRUE, _FALSE, _NULL, \
    _ARR_SEP, _MEMBER_SEP, _COMMENT, _EOS, _ERROR = range(14)

_SPACES = " \t\r\n"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = {'"': '"', "/": "/", "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_MAX_UINT64 = (1 << 64) - 1
_MIN_INT64 = -(1 << 63)


class JsonBodyError(ValueError):
    """A malformed body; `str()` is JsonCpp's formatted error list."""

    def __init__(self, formatted: str) -> None:
        super().__init__(formatted)
        self.formatted = formatted


def parse_body(body: bytes) -> Any:
    """Parse a request body. b'' -> None. Raises JsonBodyError."""
    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = body[:exc.start]
        line = prefix.count(b"\n") + 1  # good enough for a location hint
        col = exc.start - (prefix.rfind(b"\n") + 1) + 1
        raise JsonBodyError(f"* Line {line}, Column {col}\n  Request body is not valid UTF-8 text.\n") from None
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.end = len(text)
        self.pos = 0

    # -- errors ----------------------------------------------------------
    def _location(self, offset: int) -> str:
        text = self.text
        line, last_line_start, i = 0, 0, 0
        limit = min(offset, self.end)
        while i < limit:
            c = text[i]
            i += 1
            if c == "\r":
                if i < self.end and text[i] == "\n":
                    i += 1
                last_line_start = i
                line += 1
            elif c == "\n":
                last_line_start = i
                line += 1
        column = len(text[last_line_start:offset].encode("utf-8", "surrogatepass")) + 1
        return f"Line {line + 1}, Column {column}"

    def _fail(self, message: str, start: int, extra: int | None = None) -> JsonBodyError:
        formatted = f"* {self._location(start)}\n  {message}\n"
        if extra is not None:
            formatted += f"See {self._location(extra)} for detail.\n"
        return JsonBodyError(formatted)

    # -- tokens ----------------------------------------------------------
    def _token(self) -> tuple[int, int, int]:
        """(type, start, end); like Reader::readToken, type _ERROR when the token is bad."""
        text, end = self.text, self.end
        pos = self.pos
        while pos < end and text[pos] in _SPACES:
            pos += 1
        start = pos
        if pos >= end:
            self.pos = pos
            return _EOS, start, pos
        c = text[pos]
        pos += 1
        ok = True
        if c == "{":
            kind = _OBJ_BEGIN
        elif c == "}":
            kind = _OBJ_END
        elif c == "[":
            kind = _ARR_BEGIN
        elif c == "]":
            kind = _ARR_END
        elif c == '"':
            kind = _STRING
            ok = False
            while pos < end:
                ch = text[pos]
                pos += 1
                if ch == "\\":
                    pos += 1
                elif ch == '"':
                    ok = True
                    break
            pos = min(pos, end)
        elif c == "/":
            kind = _COMMENT
            ok = False
            if pos < end:
                nxt = text[pos]
                pos += 1
                if nxt == "*":
                    close = text.find("*/", pos)
                    if close >= 0:
                        pos = close + 2
                        ok = True
                    else:
                        pos = end
                elif nxt == "/":
                    while pos < end:
                        ch = text[pos]
                        pos += 1
                        if ch == "\n":
                            break
                        if ch == "\r":
                            if pos < end and text[pos] == "\n":
                                pos += 1
                            break
                    ok = True
        elif c in _DIGITS or c == "-":
            kind = _NUMBER
            while pos < end and text[pos] in _DIGITS:
                pos += 1
            if pos < end and text[pos] == ".":
                pos += 1
                while pos < end and text[pos] in _DIGITS:
                    pos += 1
            if pos < end and text[pos] in "eE":
                pos += 1
                if pos < end and text[pos] in "+-":
                    pos += 1
                while pos < end and text[pos] in _DIGITS:
                    pos += 1
        elif c == "t":
            kind, ok, pos = _TRUE, text.startswith("rue", pos), pos + 3 if text.startswith("rue", pos) else pos
        elif c == "f":
            kind, ok, pos = _FALSE, text.startswith("alse", pos), pos + 4 if text.startswith("alse", pos) else pos
        elif c == "n":
            kind, ok, pos = _NULL, text.startswith("ull", pos), pos + 3 if text.startswith("ull", pos) else pos
        elif c == ",":
            kind = _ARR_SEP
        elif c == ":":
            kind = _MEMBER_SEP
        elif c == "\0":
            kind = _EOS  # JsonCpp reads a NUL byte as the end of the text
        else:
            ok = False
            kind = _ERROR
        self.pos = pos
        return (kind if ok else _ERROR), start, pos

    def _token_skip_comments(self) -> tuple[int, int, int]:
        tok = self._token()
        while tok[0] == _COMMENT:
            tok = self._token()
        return tok

    # -- scalars ---------------------------------------------------------
    def _string(self, start: int, end: int) -> str:
        text = self.text
        out: list[str] = []
        i, stop = start + 1, end - 1
        run = i
        while i < stop:
            c = text[i]
            if c == '"':
                break
            if c != "\\":
                i += 1
                continue
            out.append(text[run:i])
            i += 1
            if i == stop:
                raise self._fail("Empty escape sequence in string", start, i)
            esc = text[i]
            i += 1
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
            elif esc == "u":
                code, i = self._unicode(start, i, stop)
                if 0xD800 <= code <= 0xDBFF:
                    if stop - i < 6:
                        raise self._fail("additional six characters expected to parse unicode surrogate pair.",
                                         start, i)
                    if text[i] == "\\" and text[i + 1] == "u":
                        low, i = self._unicode(start, i + 2, stop)
                        code = 0x10000 + ((code & 0x3FF) << 10) + (low & 0x3FF)
                    else:
                        raise self._fail("expecting another \\u token to begin the second half of a unicode "
                                         "surrogate pair", start, i + 1)
                # JsonCpp would emit CESU bytes for a lone surrogate; keep the text valid Unicode.
                out.append("\ufffd" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code))
            else:
                raise self._fail("Bad escape sequence in string", start, i)
            run = i
        out.append(text[run:i])
        return "".join(out)

    def _unicode(self, token_start: int, i: int, stop: int) -> tuple[int, int]:
        if stop - i < 4:
            raise self._fail("Bad unicode escape sequence in string: four digits expected.", token_start, i)
        digits = self.text[i:i + 4]
        for k, ch in enumerate(digits):
            if ch not in _HEX:
                raise self._fail("Bad unicode escape sequence in string: hexadecimal digit expected.",
                                 token_start, i + k + 1)
        return int(digits, 16), i + 4

    def _number(self, start: int, end: int) -> int | float:
        token = self.text[start:end]
        digits = token[1:] if token.startswith("-") else token
        if all(ch in _DIGITS for ch in digits):
            value = int(digits) if digits else 0
            if token.startswith("-"):
                if value <= -_MIN_INT64:
                    return -value
            elif value <= _MAX_UINT64:
                return value
        try:
            result = float(token)
        except ValueError:
            result = None
        if result is None or result in (float("inf"), float("-inf")):
            raise self._fail(f"'{token}' is not a number.", start)
        return result

    # -- values ----------------------------------------------------------
    def parse(self) -> Any:
        # Frames: [container, is_object, pending member name, previous member name]
        stack: list[list[Any]] = []
        while True:
            # read one value
            if len(stack) >= STACK_LIMIT:
                raise self._fail("Exceeded stackLimit in readValue().", self.pos)
            kind, start, end = self._token_skip_comments()
            if kind == _OBJ_BEGIN:
                stack.append([{}, True, None, ""])
                value = self._object_member(stack)
                if value is _PENDING:
                    continue
            elif kind == _ARR_BEGIN:
                pos = self.pos
                while pos < self.end and self.text[pos] in _SPACES:
                    pos += 1
                if pos < self.end and self.text[pos] == "]":
                    self.pos = pos + 1
                    value = []
                else:
                    stack.append([[], False, None, ""])
                    continue
            elif kind == _NUMBER:
                value = self._number(start, end)
            elif kind == _STRING:
                value = self._string(start, end)
            elif kind == _TRUE:
                value = True
            elif kind == _FALSE:
                value = False
            elif kind == _NULL:
                value = None
            else:
                raise self._fail("Syntax error: value, object or array expected.", start)

            # hand the finished value to its parent, closing containers as they end
            while True:
                if not stack:
                    return value
                frame = stack[-1]
                if frame[1]:
                    frame[0][frame[2]] = value
                    kind, start, _ = self._token()
                    if kind not in (_OBJ_END, _ARR_SEP, _COMMENT):
                        raise self._fail("Missing ',' or '}' in object declaration", start)
                    while kind == _COMMENT:
                        kind, start, _ = self._token()
                    if kind == _OBJ_END:
                        stack.pop()
                        value = frame[0]
                        continue
                    value = self._object_member(stack)
                    if value is _PENDING:
                        break
                    continue
                frame[0].append(value)
                kind, start, _ = self._token()
                while kind == _COMMENT:
                    kind, start, _ = self._token()
                if kind not in (_ARR_SEP, _ARR_END):
                    raise self._fail("Missing ',' or ']' in array declaration", start)
                if kind == _ARR_END:
                    stack.pop()
                    value = frame[0]
                    continue
                break

    def _object_member(self, stack: list[list[Any]]) -> Any:
        """Read `"name" :` of the top object (or its closing brace).

        Returns _PENDING when a member value must be read next, else the finished object
        (the frame is popped).
        """
        frame = stack[-1]
        kind, start, end = self._token_skip_comments()
        if kind == _OBJ_END and frame[3] == "":
            stack.pop()
            return frame[0]
        if kind != _STRING:
            raise self._fail("Missing '}' or object member name", start)
        name = self._string(start, end)
        kind, start, _ = self._token()
        if kind != _MEMBER_SEP:
            raise self._fail("Missing ':' after object member name", start)
        frame[2] = name
        frame[3] = name
        return _PENDING


_PENDING = object()

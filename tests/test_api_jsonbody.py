"""Lenient request-body parsing, JsonCpp style (reference §2.7)."""
from __future__ import annotations

import pytest

from ome.api.jsonbody import JsonBodyError, parse_body


def err(body: bytes) -> str:
    with pytest.raises(JsonBodyError) as info:
        parse_body(body)
    return info.value.formatted


def test_empty_body_is_null():
    assert parse_body(b"") is None


@pytest.mark.parametrize("body, value", [
    (b"{}", {}),
    (b"[]", []),
    (b" [ ] ", []),
    (b'{"a":1}', {"a": 1}),
    (b"null", None),
    (b"true", True),
    (b"false", False),
    (b'"x"', "x"),
    (b"0", 0),
    (b"-12", -12),
    (b"1.5", 1.5),
    (b"1e3", 1000.0),
    (b"1.", 1.0),
    (b"007", 7),
])
def test_values(body, value):
    result = parse_body(body)
    assert result == value and type(result) is type(value)


def test_comments_are_allowed():
    body = b'// leading\n{ /* inside */ "a": /* before value */ 1 // after\n, "b": [1, /* x */ 2 /* y */] }'
    assert parse_body(body) == {"a": 1, "b": [1, 2]}


def test_trailing_data_is_ignored():
    assert parse_body(b'{"a":1} this is not JSON {') == {"a": 1}
    assert parse_body(b"[1][2]") == [1]


def test_duplicate_keys_last_wins():
    assert parse_body(b'{"a":1,"b":2,"a":3}') == {"a": 3, "b": 2}


def test_integers_stay_integers_up_to_64_bits_then_double():
    assert parse_body(b"18446744073709551615") == 18446744073709551615
    big = parse_body(b"18446744073709551616")
    assert isinstance(big, float) and big == 18446744073709551616.0
    assert parse_body(b"-9223372036854775808") == -9223372036854775808
    assert isinstance(parse_body(b"-9223372036854775809"), float)


def test_unicode_escapes_and_surrogate_pairs():
    assert parse_body(b'"\\u00e9\\ud83d\\ude00\\n\\/"') == "\u00e9\U0001F600\n/"
    assert parse_body('"é"'.encode()) == "é"


def test_common_syntax_error_frame():
    assert err(b"hello") == "* Line 1, Column 1\n  Syntax error: value, object or array expected.\n"


@pytest.mark.parametrize("body, expected", [
    (b'{"a":1,}', "* Line 1, Column 8\n  Missing '}' or object member name\n"),
    (b'{"a" 1}', "* Line 1, Column 6\n  Missing ':' after object member name\n"),
    (b'{"a":1 "b":2}', "* Line 1, Column 8\n  Missing ',' or '}' in object declaration\n"),
    (b"[1 2]", "* Line 1, Column 4\n  Missing ',' or ']' in array declaration\n"),
    (b"[1,]", "* Line 1, Column 4\n  Syntax error: value, object or array expected.\n"),
    (b'\n\n  {"a":}', "* Line 3, Column 8\n  Syntax error: value, object or array expected.\n"),
    (b"1e999", "* Line 1, Column 1\n  '1e999' is not a number.\n"),
    (b'"\\x"', "* Line 1, Column 1\n  Bad escape sequence in string\nSee Line 1, Column 4 for detail.\n"),
    (b'"\\u12"', "* Line 1, Column 1\n  Bad unicode escape sequence in string: four digits expected.\n"
                 "See Line 1, Column 4 for detail.\n"),
    (b"   ", "* Line 1, Column 4\n  Syntax error: value, object or array expected.\n"),
    (b"tru", "* Line 1, Column 1\n  Syntax error: value, object or array expected.\n"),
    (b'"unterminated', "* Line 1, Column 1\n  Syntax error: value, object or array expected.\n"),
])
def test_error_locations_and_reasons(body, expected):
    assert err(body) == expected


def test_columns_count_utf8_bytes():
    # "éé" is 4 bytes: the value starts at byte 10
    assert err('{"éé": x}'.encode()) == "* Line 1, Column 10\n  Syntax error: value, object or array expected.\n"


def test_invalid_utf8_is_a_clear_error():
    assert err(b'{"a":"\xff"}') == "* Line 1, Column 7\n  Request body is not valid UTF-8 text.\n"


def test_nesting_limit_is_an_error_not_a_crash():
    assert "Exceeded stackLimit" in err(b"[" * 5000)
    deep = parse_body(b"[" * 999 + b"]" * 999)
    depth = 0
    while isinstance(deep, list) and deep:
        deep, depth = deep[0], depth + 1
    assert depth == 998

"""OME's JSON output: compact, sorted, ASCII, %.17g floats, local timestamps (reference §2.6)."""
from __future__ import annotations

import os
import re
import time

import pytest

from ome.api.jsonfmt import dumps, f32, format_time


def test_compact_sorted_no_trailing_newline():
    assert dumps({"b": 1, "a": {"d": [1, 2], "c": None}, "B": True}) == '{"B":true,"a":{"c":null,"d":[1,2]},"b":1}'


def test_sort_is_bytewise():
    assert dumps({"a": 1, "Z": 2, "_": 3, "é": 4}) == '{"Z":2,"_":3,"a":1,"\\u00e9":4}'


@pytest.mark.parametrize("value, text", [
    (1.0, "1.0"),
    (0.5, "0.5"),
    (29.97, "29.969999999999999"),
    (0.1, "0.10000000000000001"),
    (1e20, "1e+20"),
    (-0.0, "-0.0"),
    (123456789.0, "123456789.0"),
    (float("nan"), "null"),
    (float("inf"), "1e+9999"),
])
def test_floats_use_percent_17g(value, text):
    assert dumps(value) == text


def test_stream_info_floats_are_float32_widened():
    assert dumps(f32(29.97)) == "29.969999313354492"


def test_unicode_is_escaped_lowercase_with_surrogate_pairs_and_slash_kept():
    assert dumps("é\U0001F600/\"\\\n\x01") == '"\\u00e9\\ud83d\\ude00/\\"\\\\\\n\\u0001"'


def test_ints_and_bools():
    assert dumps([0, -5, 2 ** 63, True, False]) == "[0,-5,9223372036854775808,true,false]"


def test_timestamp_local_time_with_offset():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Seoul"
    time.tzset()
    try:
        assert format_time(1610304321.879) == "2021-01-11T03:45:21.879+09:00"
        assert format_time(0) == "1970-01-01T09:00:00.000+09:00"
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", format_time(time.time()))

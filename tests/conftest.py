"""Fixtures shared by the whole suite. Real components only: redis-server,
ffmpeg, Chromium are started for real, bound to 127.0.0.1 on free ports."""
from __future__ import annotations

import shutil

import pytest

from helpers import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free loopback port, no persistence."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (make install installs it)")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()

"""Free local ports for the benchmark servers (127.0.0.1 only)."""
from __future__ import annotations

import socket

_handed_out: set[int] = set()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port that was free a moment ago (SOCK_DGRAM for UDP/SRT), never the same one twice in
    a run: the kernel may hand a just-closed port out again at once."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port

"""nginx with libnginx-mod-rtmp as a real RTMP peer for the tests (a push destination that records
what it receives to `<dir>/rec/<stream>.flv`), started in the foreground on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from helpers import free_port, wait_for_port

MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")

CONF = """{user}
load_module {module};
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application app {{ live on; record all; record_path {dir}/rec; record_unique off; }}
    }}
}}
"""


class NginxRtmp:
    """`rtmp://127.0.0.1:<port>/app/<stream>`; every received stream is recorded to rec/<stream>.flv."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> int:
        (self.dir / "rec").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        # as root, workers would drop to a user that cannot write into a private temp dir
        user = "user root;" if os.getuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(CONF.format(user=user, module=MODULE, dir=self.dir, port=self.port))
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 15, proc=self.proc)
        return self.port

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)        # graceful: recordings are closed
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

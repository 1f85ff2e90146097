"""A TLS terminator for the tests: accepts TLS on 127.0.0.1 with a self-signed certificate made by
the openssl CLI (subjectAltName IP:127.0.0.1) and relays the plain bytes to a TCP port, so a
plain-TCP peer (nginx-rtmp) can stand behind an rtmps:// URL. `cert` is also the CA file a client
trusts (SSL_CERT_FILE)."""
from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


class TlsProxy:
    def __init__(self, directory: Path, target_port: int) -> None:
        self.cert, self.key = self_signed(directory)
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.connections = 0

    async def start(self) -> int:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_w), pump(up_r, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

"""The embedded `redis-server`: a supervised child owning `<Storage><Path>`.

- The data dir is created if missing and locked (flock on `ome.lock`, released
  by the kernel even when we are SIGKILLed); a second live ome on the same dir
  is a StartupError.
- The child listens on `redis.sock` inside the data dir with no TCP port; when
  that path is too long for AF_UNIX it listens on a free loopback port instead,
  with a random password. Append-only file on (everysec), RDB snapshots off.
- It runs in its own session (a Ctrl-C on the terminal does not hit it) and
  gets SIGTERM if ome dies (PR_SET_PDEATHSIG), so a killed ome leaves no
  orphan. Should one survive anyway (pid in `redis.pid`, cwd = our data dir),
  the next start stops it before starting a fresh child.
- If the child dies it is restarted (capped backoff) and `on_restart` runs, so
  the store reconnects and re-syncs. `stop()` sends SIGTERM (Redis then fsyncs
  its AOF and exits) and waits.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError, RedisError

from ome.errors import StartupError

from .redis_store import client_kwargs

log = logging.getLogger(__name__)

# sun_path is 108 bytes on Linux, NUL included.
UNIX_PATH_MAX = 107
SOCKET_NAME = "redis.sock"
LOCK_NAME = "ome.lock"
PID_NAME = "redis.pid"
CONF_NAME = "redis.conf"
LOG_NAME = "redis.log"

_PR_SET_PDEATHSIG = 1


class StorageDirError(StartupError):
    """The data dir cannot be created or written (as opposed to being in use)."""


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when we die (Linux)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:       # we died between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


def _loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, data_dir: Path, binary: str, *, ready_timeout: float = 30.0,
                 restart_backoff_cap: float = 5.0) -> None:
        self.dir = Path(data_dir)
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.restart_backoff_cap = restart_backoff_cap
        self.socket_path = self.dir / SOCKET_NAME
        self.use_unix_socket = len(os.fsencode(str(self.socket_path))) <= UNIX_PATH_MAX
        self.port: int | None = None
        self.password: str | None = None
        self.proc: subprocess.Popen | None = None
        self.on_restart: Callable[[], Any] | None = None
        self.on_exit: Callable[[int | None], Any] | None = None
        self.restarts = 0
        self._lock_fd: int | None = None
        self._stopping = False
        self._supervisor: asyncio.Task | None = None

    # -- description -------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self.use_unix_socket:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}"

    def client(self, op_timeout: float = 1.0, connect_timeout: float = 0.5) -> aioredis.Redis:
        kwargs = client_kwargs(op_timeout, connect_timeout)
        if self.use_unix_socket:
            return aioredis.Redis(unix_socket_path=str(self.socket_path), **kwargs)
        return aioredis.Redis(host="127.0.0.1", port=self.port, password=self.password, **kwargs)

    # -- start -------------------------------------------------------------------
    async def start(self) -> None:
        """Create and lock the data dir, clear a stale child, start and wait for a fresh one."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageDirError(f"Could not create the API storage directory {self.dir}: "
                                  f"{exc.strerror or exc}") from None
        if not os.access(self.dir, os.W_OK | os.X_OK):
            raise StorageDirError(f"The API storage directory {self.dir} is not writable")
        self._lock()
        try:
            self._stop_stale_child()
            if not self.use_unix_socket:
                log.warning("API storage: socket path %s is longer than %d bytes; the embedded redis-server "
                            "listens on a loopback TCP port instead", self.socket_path, UNIX_PATH_MAX)
                self.password = secrets.token_hex(24)
            await self._spawn_and_wait(first=True)
        except BaseException:
            await self._kill_child()
            self._unlock()
            raise
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="ome-redis-supervisor")

    def _lock(self) -> None:
        path = self.dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            except OSError:
                pass
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StartupError(f"The API storage directory {self.dir} is in use by another ome instance"
                                   + (f" (pid {holder})" if holder else "")) from None
            raise StartupError(f"Could not lock the API storage directory {self.dir}: {exc}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            try:
                os.ftruncate(self._lock_fd, 0)
            except OSError:
                pass
            os.close(self._lock_fd)      # closing the fd releases the flock
            self._lock_fd = None

    def _stop_stale_child(self) -> None:
        """A redis-server left running on our data dir by an ome that died: stop it."""
        pid_file = self.dir / PID_NAME
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if pid <= 0 or not _alive(pid):
            pid_file.unlink(missing_ok=True)
            return
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cwd = os.path.realpath(f"/proc/{pid}/cwd")
        except OSError:
            raise StartupError(f"The API storage directory {self.dir} may be in use by process {pid} "
                               f"(see {pid_file}); stop it or remove that file") from None
        if not comm.startswith("redis-server") or cwd != os.path.realpath(self.dir):
            pid_file.unlink(missing_ok=True)   # the pid was reused by something else
            return
        log.warning("API storage: stopping a leftover redis-server (pid %d) on %s", pid, self.dir)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def _write_conf(self) -> Path:
        lines = [
            "# Written by ome at each start; edits are overwritten.",
            f"dir {_quote(self.dir)}",
            "daemonize no",
            f"logfile {_quote(self.dir / LOG_NAME)}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "databases 1",
        ]
        if self.use_unix_socket:
            lines += ["port 0", f"unixsocket {_quote(self.socket_path)}", "unixsocketperm 700"]
        else:
            lines += ["bind 127.0.0.1", f"port {self.port}", f"requirepass {self.password}"]
        path = self.dir / CONF_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.fsencode("\n".join(lines) + "\n"))
        return path

    async def _spawn_and_wait(self, first: bool) -> None:
        attempts = 1 if self.use_unix_socket else 5      # a picked TCP port can be taken meanwhile
        for attempt in range(attempts):
            if not self.use_unix_socket and (first or attempt or self.port is None):
                self.port = _loopback_port()
            self._spawn()
            try:
                await self._wait_ready()
                return
            except StartupError:
                if attempt + 1 < attempts and self.proc is not None and self.proc.poll() is not None:
                    log.warning("embedded redis-server exited at start (port %s taken?); retrying", self.port)
                    continue
                raise

    def _spawn(self) -> None:
        conf = self._write_conf()
        if self.use_unix_socket:
            try:
                self.socket_path.unlink()
            except FileNotFoundError:
                pass
        try:
            self.proc = subprocess.Popen(
                [self.binary, str(conf)], cwd=str(self.dir), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_pdeathsig_preexec())
        except OSError as exc:
            raise StartupError(f"Could not start {self.binary}: {exc}") from None
        (self.dir / PID_NAME).write_text(f"{self.proc.pid}\n")
        log.info("embedded redis-server started (pid %d) on %s, data in %s", self.proc.pid, self.endpoint, self.dir)

    async def _wait_ready(self) -> None:
        """PING until the child answers (it answers LOADING while reading a big AOF)."""
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartupError(f"The embedded redis-server exited with status {self.proc.returncode} "
                                   f"at start:\n{self.log_tail()}")
            client = self.client(op_timeout=2.0, connect_timeout=0.5)
            try:
                await client.ping()
                return
            except BusyLoadingError as exc:
                last = exc
            except (RedisError, OSError) as exc:
                last = exc
            finally:
                await client.aclose()
            await asyncio.sleep(0.02)
        raise StartupError(f"The embedded redis-server did not get ready within {self.ready_timeout:g} s "
                           f"({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 10) -> str:
        try:
            text = (self.dir / LOG_NAME).read_text(errors="replace")
        except OSError:
            return "(no redis.log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- supervision --------------------------------------------------------------
    async def _wait_exit(self, proc: subprocess.Popen) -> int:
        """Wait for the child to exit without blocking the loop (pidfd, else polling)."""
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is not None:
            exited = loop.create_future()
            loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
            try:
                await exited
            finally:
                loop.remove_reader(pidfd)
                os.close(pidfd)
        while proc.poll() is None:
            await asyncio.sleep(0.1)
        return proc.returncode

    async def _supervise(self) -> None:
        backoff = 0.0
        while not self._stopping:
            proc = self.proc
            assert proc is not None
            started = time.monotonic()
            code = await self._wait_exit(proc)
            if self._stopping:
                return
            log.error("embedded redis-server (pid %d) exited with status %s; restarting it\n%s",
                      proc.pid, code, self.log_tail(5))
            if self.on_exit is not None:
                self.on_exit(code)
            # Back off only when it keeps dying right after a start.
            backoff = 0.0 if time.monotonic() - started > 10 else min(max(backoff * 2, 0.2),
                                                                       self.restart_backoff_cap)
            while not self._stopping:
                if backoff:
                    await asyncio.sleep(backoff)
                if self._stopping:
                    return
                try:
                    await self._spawn_and_wait(first=False)
                except StartupError as exc:
                    log.error("could not restart the embedded redis-server: %s", exc)
                    await self._kill_child()
                    backoff = min(max(backoff * 2, 0.5), self.restart_backoff_cap)
                    continue
                except Exception:
                    log.exception("could not restart the embedded redis-server")
                    await self._kill_child()
                    backoff = min(max(backoff * 2, 0.5), self.restart_backoff_cap)
                    continue
                break
            if self._stopping:
                return
            self.restarts += 1
            log.warning("embedded redis-server restarted (pid %d)", self.proc.pid if self.proc else -1)
            if self.on_restart is not None:
                self.on_restart()

    # -- stop --------------------------------------------------------------------
    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the child (Redis fsyncs its AOF and exits), wait, release the dir."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except (asyncio.CancelledError, Exception):
                pass
            self._supervisor = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if proc.poll() is None:
                log.error("embedded redis-server (pid %d) ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()
            log.info("embedded redis-server stopped (status %s)", proc.returncode)
        (self.dir / PID_NAME).unlink(missing_ok=True)
        self._unlock()

    async def _kill_child(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            await asyncio.get_running_loop().run_in_executor(None, proc.wait)


def _quote(path: Path) -> str:
    """A path as a double-quoted redis.conf argument (sdssplitargs escapes)."""
    out = []
    for ch in str(path):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own unreaped child) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True

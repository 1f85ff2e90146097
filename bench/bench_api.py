#!/usr/bin/env python3
"""API benchmark with persistence on (embedded redis-server), against a real `ome` process.

    make bench-api        # = .venv/bin/python bench/bench_api.py --out bench/RESULTS.md

What it measures (all on 127.0.0.1, free ports, load generators in separate processes):
- GET /v1/vhosts/{v}/apps/{a}: wrk (C, epoll) with bench/wrk_report.lua, 1 and 8 connections.
- App create/delete cycles: bench/loadgen.py (Python, http.client keep-alive) in 1 and 4 worker
  processes; each cycle = POST {V}/apps [one app] (persisted in one MULTI/EXEC before the reply)
  then DELETE {A} (also persisted). Latency is per request, client-side.
Targets (2-core machine): GET p99 <= 2 ms, persisted create p99 <= 10 ms.
The result replaces the `bench-api` section of --out (other sections are kept).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import report  # noqa: E402  (bench/ is on sys.path: the script's own directory)
from ports import free_port  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "bench-token"
START, END = "<!-- bench-api:start -->", "<!-- bench-api:end -->"

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>Bench</Name>
  <Type>origin</Type>
  <IP>127.0.0.1</IP>
  <Bind><Managers><API><Port>{port}</Port><WorkerCount>1</WorkerCount></API></Managers></Bind>
  <Managers>
    <Host><Names><Name>*</Name></Names></Host>
    <API>
      <AccessToken>{token}</AccessToken>
      <Storage><Enabled>true</Enabled><Path>{data}</Path></Storage>
    </API>
  </Managers>
  <VirtualHosts>
    <VirtualHost>
      <Name>default</Name>
      <Host><Names><Name>*</Name></Names></Host>
      <Applications><Application><Name>app</Name><Type>live</Type></Application></Applications>
    </VirtualHost>
  </VirtualHosts>
</Server>
"""


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ome exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"ome did not open port {port}")


def api(port: int, method: str, path: str, body=None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers={
        "Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def run_wrk(port: int, path: str, connections: int, seconds: float) -> dict:
    auth = "Basic " + base64.b64encode(TOKEN.encode()).decode()
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(HERE / "wrk_report.lua"),
           "-H", f"Authorization: {auth}", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK-JSON "))
    r = json.loads(line[len("WRK-JSON "):])
    secs = r["duration_us"] / 1e6
    return {"tool": f"wrk -t1 -c{connections} -d{seconds:g}s", "requests": r["requests"],
            "per_s": r["requests"] / secs, "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "max_ms": r["max_us"] / 1000,
            "errors": r["status_errors"] + r["socket_errors"]}


def run_loadgen(port: int, mode: str, workers: int, seconds: float, vhost: str, app: str = "") -> dict:
    cmd = [sys.executable, str(HERE / "loadgen.py"), mode, "--port", str(port), "--token", TOKEN,
           "--vhost", vhost, "--seconds", str(seconds), "--workers", str(workers)]
    if app:
        cmd += ["--app", app]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def machine() -> str:
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    rv = next((w[2:] for w in redis if w.startswith("v=")), "?")
    return report.machine(f"redis-server {rv} (embedded, unix socket, AOF everysec)")


def write_section(out: Path, text: str) -> None:
    report.write_section(out, START, END, text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--seconds", type=float, default=10.0, help="duration of each run")
    p.add_argument("--ome", default=str(ROOT / ".venv" / "bin" / "ome"))
    args = p.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (make install installs it)", file=sys.stderr)
        return 2

    load_before = os.getloadavg()[0]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ome-bench-") as tmp:
        conf = Path(tmp) / "conf"
        conf.mkdir()
        (conf / "Server.xml").write_text(SERVER_XML.format(port=port, token=TOKEN, data=Path(tmp) / "api_data"))
        log = open(Path(tmp) / "ome.log", "wb")
        proc = subprocess.Popen([args.ome, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(port, proc)
            status, body = api(port, "POST", "/v1/vhosts", [{"name": "bench"}])
            assert status == 200, body
            status, body = api(port, "POST", "/v1/vhosts/bench/apps", [{"name": "app", "type": "live"}])
            assert status == 200, body
            get_path = "/v1/vhosts/bench/apps/app"
            status, get_body = api(port, "GET", get_path)
            assert status == 200, get_body

            results = []
            print("GET, 1 connection ...", file=sys.stderr)
            results.append(("GET {A}", run_wrk(port, get_path, 1, args.seconds)))
            print("GET, 8 connections ...", file=sys.stderr)
            results.append(("GET {A}", run_wrk(port, get_path, 8, args.seconds)))
            cycles = []
            for workers in (1, 4):
                print(f"create/delete cycles, {workers} worker(s) ...", file=sys.stderr)
                cycles.append((workers, run_loadgen(port, "cycle", workers, args.seconds, "bench")))
            # Everything created was deleted again, and persisted state is consistent.
            status, body = api(port, "GET", "/v1/vhosts/bench/apps")
            assert status == 200 and json.loads(body)["response"] == ["app"], body
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    lines = [
        "## API with persistence (`make bench-api`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}. One `ome` process (uvloop, "
        "1 API worker), its embedded redis-server and the load generator all share these CPUs. "
        f"1-min load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        "(anything else running on the machine skews these numbers).",
        f"Command: `.venv/bin/python bench/bench_api.py --out bench/RESULTS.md` ({args.seconds:g} s per run).",
        "",
        "| Request | Load generator | Requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results:
        lines.append(f"| {name} | {r['tool']} | {r['requests']} | {r['per_s']:.0f} | {r['p50_ms']:.3f} | "
                     f"{r['p90_ms']:.3f} | {r['p99_ms']:.3f} | {r['max_ms']:.3f} | {r['errors']} |")
    for workers, c in cycles:
        for op, label in (("create", "POST {V}/apps (persisted create)"), ("delete", "DELETE {A} (persisted)")):
            r = c[op]
            lines.append(f"| {label} | loadgen.py cycle, {workers} proc | {r['count']} | {r['per_s']:.0f} | "
                         f"{r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['p99_ms']:.3f} | {r['max_ms']:.3f} | "
                         f"{c['errors']} |")
    get_p99 = results[0][1]["p99_ms"]
    create_p99 = cycles[0][1]["create"]["p99_ms"]
    lines += [
        "",
        f"Create/delete cycles: {cycles[0][1]['cycles_per_s']:.0f}/s with 1 process, "
        f"{cycles[1][1]['cycles_per_s']:.0f}/s with 4 (each cycle = 2 persisted writes).",
        f"Targets: GET p99 <= 2 ms: **{'met' if get_p99 <= 2 else 'NOT met'}** ({get_p99:.3f} ms, 1 connection); "
        f"persisted create p99 <= 10 ms: **{'met' if create_p99 <= 10 else 'NOT met'}** "
        f"({create_p99:.3f} ms, 1 process).",
        "Latencies are client-side and include the Python client's own overhead for the loadgen rows.",
    ]
    text = "\n".join(lines)
    write_section(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

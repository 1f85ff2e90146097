"""Load generator for the API benchmark, run as its own process(es) (never inside ome).

Modes (JSON result on stdout):
  cycle  - each worker loops: POST {V}/apps [one new app] then DELETE {A}, on one keep-alive
           connection; reports per-operation latencies for create and delete.
  get    - each worker loops GET {A} (used only when wrk is missing).

    python bench/loadgen.py cycle --port P --token T --vhost V --seconds 10 --workers 1
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing as mp
import os
import sys
import time

APP_BODY = {"type": "live"}       # POST defaults fill providers/publishers/outputProfiles


def _worker(args: argparse.Namespace, index: int, queue: "mp.Queue") -> None:
    auth = "Basic " + base64.b64encode(args.token.encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    create: list[int] = []
    delete: list[int] = []
    get: list[int] = []
    errors = 0
    deadline = time.monotonic() + args.seconds
    n = 0
    pid = os.getpid()

    def call(method: str, path: str, body: bytes | None) -> int:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status

    while time.monotonic() < deadline:
        if args.mode == "cycle":
            name = f"b{pid}x{index}n{n}"
            body = json.dumps([dict(APP_BODY, name=name)]).encode()
            t0 = time.perf_counter_ns()
            status = call("POST", f"/v1/vhosts/{args.vhost}/apps", body)
            t1 = time.perf_counter_ns()
            status2 = call("DELETE", f"/v1/vhosts/{args.vhost}/apps/{name}", None)
            t2 = time.perf_counter_ns()
            if status != 200 or status2 != 200:
                errors += 1
            create.append(t1 - t0)
            delete.append(t2 - t1)
        else:
            t0 = time.perf_counter_ns()
            status = call("GET", f"/v1/vhosts/{args.vhost}/apps/{args.app}", None)
            get.append(time.perf_counter_ns() - t0)
            if status != 200:
                errors += 1
        n += 1
    conn.close()
    queue.put({"create": create, "delete": delete, "get": get, "errors": errors})


def pct(values: list[int], p: float) -> float:
    """p-th percentile (nearest rank) in milliseconds."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k] / 1e6


def summarize(values: list[int], seconds: float) -> dict[str, float]:
    return {"count": len(values), "per_s": len(values) / seconds if seconds else 0.0,
            "p50_ms": pct(values, 50), "p90_ms": pct(values, 90), "p99_ms": pct(values, 99),
            "max_ms": max(values) / 1e6 if values else float("nan")}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("cycle", "get"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--vhost", required=True)
    p.add_argument("--app", default="")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(args, i, queue)) for i in range(args.workers)]
    t0 = time.monotonic()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    elapsed = time.monotonic() - t0
    for proc in procs:
        proc.join()
    merged = {k: [v for r in results for v in r[k]] for k in ("create", "delete", "get")}
    out = {"seconds": elapsed, "workers": args.workers, "errors": sum(r["errors"] for r in results)}
    for k, values in merged.items():
        if values:
            out[k] = summarize(values, elapsed)
    if merged["create"]:
        out["cycles_per_s"] = len(merged["create"]) / elapsed
        out["requests_per_s"] = 2 * len(merged["create"]) / elapsed
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

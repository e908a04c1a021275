"""Load generators: wrk when installed, else a small built-in one (processes x threads, keep-alive).

Both return a Result with requests/s, latency percentiles in milliseconds and an error count.
"""

import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("report.lua")


@dataclass
class Result:
    rps: float
    p50: float
    p90: float
    p95: float
    p99: float
    requests: int
    errors: int
    tool: str


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run(url: str, *, duration: float, connections: int, threads: int) -> Result:
    """Load ``url`` for ``duration`` seconds with wrk, or with the built-in generator."""
    if wrk_path():
        return run_wrk(url, duration=duration, connections=connections, threads=threads)
    return run_python(url, duration=duration, connections=connections, procs=threads)


# --- wrk ----------------------------------------------------------------------------------------


def run_wrk(url: str, *, duration: float, connections: int, threads: int) -> Result:
    """Run wrk --latency with bench/report.lua and parse its text and its BENCH line."""
    cmd = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
           "--latency", "--timeout", "10s", "-s", str(LUA_SCRIPT), url]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return parse_wrk(proc.stdout)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS_MS[unit]


def parse_wrk(out: str) -> Result:
    """Requests/sec and the 50/90/99 % latencies from wrk's text; p95 and errors from report.lua."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    dist = {int(p): _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M)}
    extra = {}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            extra = json.loads(line[6:])
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    errors += sum(extra.get(k, 0) for k in ("connect", "read", "write", "timeout"))
    p95 = extra["p95"] / 1000 if "p95" in extra else float("nan")
    return Result(rps=rps, p50=dist.get(50, float("nan")), p90=dist.get(90, float("nan")), p95=p95,
                  p99=dist.get(99, float("nan")), requests=extra.get("requests", 0), errors=errors, tool="wrk")


# --- built-in fallback --------------------------------------------------------------------------


def run_python(url: str, *, duration: float, connections: int, procs: int) -> Result:
    """A few processes, each with ``connections / procs`` keep-alive threads; CPU-hungrier than wrk."""
    host_port, _, path = url.split("://", 1)[1].partition("/")
    host, _, port = host_port.partition(":")
    procs = max(1, min(procs, connections))
    per_proc = [connections // procs + (1 if i < connections % procs else 0) for i in range(procs)]
    args = [(host, int(port or 80), "/" + path, n, duration) for n in per_proc]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        parts = pool.starmap(_proc_main, args)
    latencies = sorted(lat for lats, _, _ in parts for lat in lats)
    errors = sum(err for _, err, _ in parts)
    elapsed = max(el for _, _, el in parts)
    return Result(rps=len(latencies) / elapsed, p50=_pct(latencies, 50), p90=_pct(latencies, 90),
                  p95=_pct(latencies, 95), p99=_pct(latencies, 99), requests=len(latencies), errors=errors,
                  tool="python")  # fmt: skip


def _pct(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * pct / 100))]


def _proc_main(host: str, port: int, path: str, threads: int, duration: float):
    import threading

    deadline = time.monotonic() + duration
    results: list[tuple[list[float], int]] = []
    lock = threading.Lock()

    def worker():
        lats, errors = _connection_loop(host, port, path, deadline)
        with lock:
            results.append((lats, errors))

    start = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(duration + 15)
    elapsed = time.monotonic() - start
    return [lat for lats, _ in results for lat in lats], sum(e for _, e in results), elapsed


def _connection_loop(host: str, port: int, path: str, deadline: float) -> tuple[list[float], int]:
    """One keep-alive connection sending GETs back to back until the deadline (ms latencies)."""
    lats: list[float] = []
    errors = 0
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 400:
                errors += 1
            lats.append((time.perf_counter() - t0) * 1000)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.close()
    return lats, errors


def describe_tool() -> str:
    path = wrk_path()
    if path:
        return f"wrk ({path})"
    return f"built-in Python generator ({os.cpu_count()} CPUs; install wrk for better numbers)"

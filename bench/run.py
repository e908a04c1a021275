"""Benchmark: SQL queries per page, throughput against a hello-world reference, worker memory.

Run from the repository root with the venv's python: ``.venv/bin/python bench/run.py [--quick]``.
Prints the tables and writes them to bench/results/latest.md. Exit status 1 when a target fails.
"""

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset, load, profile, querycount, report, servers  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.md"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10, help="seconds of load per scenario (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up load before each scenario (default 2)")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 2), help="load-generator threads")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    p.add_argument("--server-threads", type=int, default=4, help="gthread threads per worker (default 4)")
    p.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up (about a minute in all)")
    p.add_argument("--fresh", action="store_true", help="seed the demo anew instead of copying the cached seed")
    p.add_argument("--keep", action="store_true", help="keep the temporary database directory")
    p.add_argument("--profile", action="store_true", help="also write pyinstrument call trees to bench/results/")
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when a target fails")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = min(args.duration, 3), min(args.warmup, 1)
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="community-bench-"))
    os.environ.update(dataset.environment(workdir))
    signal.signal(signal.SIGTERM, _interrupt)
    running: list[servers.Server] = []
    try:
        return _run(args, workdir, running, started)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping servers", file=sys.stderr)
        return 130
    except (servers.ServerError, RuntimeError, OSError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in running:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def _step(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)


def _run(args, workdir: Path, running: list, started: float) -> int:
    from community import create_app
    from community.extensions import db

    load_before = _load_average()
    _step(f"database in {workdir} (load average {load_before:.1f} on {os.cpu_count()} CPUs)", started)
    # queries and CPU are measured on real renders; the anonymous page cache would hide them
    saved = os.environ.get("PAGE_CACHE_SECONDS")
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    app = create_app()
    if saved is None:
        os.environ.pop("PAGE_CACHE_SECONDS")
    else:
        os.environ["PAGE_CACHE_SECONDS"] = saved
    data = dataset.prepare(app, workdir, fresh=args.fresh)
    for note in data.notes:
        _step(note, started)
    scenarios = dataset.scenarios(data)

    counts = querycount.count(app, [(name, path) for name, path, _ in scenarios])
    _step("queries per page counted", started)
    ok_pages = [(c.name, c.path) for c in counts if c.status == 200]
    splits = profile.split(app, ok_pages, repeat=10 if args.quick else 30)
    hello_ms = profile.hello_cpu_ms()
    _step("CPU time per layer measured", started)
    if args.profile:
        for path in profile.call_trees(app, ok_pages, RESULTS.parent):
            _step(f"call tree: {path.relative_to(ROOT)}", started)
    with app.app_context():
        db.engine.dispose()  # gunicorn's workers open their own connections
    scenarios = [(c.name, c.path, target, c.status) for c, (_, _, target) in zip(counts, scenarios, strict=True)]

    app_server, hello_server = _start_servers(args, workdir, running, started)
    if not load.wrk_path():
        print("NOTE: wrk is not installed (apt-get install -y wrk); using the built-in Python load "
              "generator, which needs more CPU and under-reports hello-world.", file=sys.stderr)  # fmt: skip
    _step(f"load tool: {load.describe_tool()}", started)

    hellos = [_measure(args, hello_server, "/", "hello world (first)", started)]
    rows = []
    for name, path, target, status in scenarios:
        if status != 200:
            rows.append(report.Row(name, path, None, target, error=f"HTTP {status} in the test client"))
            _step(f"{name}: skipped, {path} answered {status}", started)
            continue
        try:
            rows.append(report.Row(name, path, _measure(args, app_server, path, name, started), target))
        except RuntimeError as exc:
            rows.append(report.Row(name, path, None, target, error=str(exc)[:120]))
    hellos.append(_measure(args, hello_server, "/", "hello world (last)", started))
    rss = {"community (wsgi:app)": app_server.worker_rss_mb(), "hello world": hello_server.worker_rss_mb()}

    cpu = profile.table(splits, hello_ms)
    busy = load_before  # later readings include this run's own load
    if busy > (os.cpu_count() or 1) * 0.75:
        data.notes.append(f"WARNING: the machine was busy (load average up to {busy:.1f} on {os.cpu_count()} CPUs "
                          "besides this run): req/s are low and noisy; the ratios and the CPU split hold better")
    text, failed = _render(args, hellos, rows, counts, rss, cpu, data, time.monotonic() - started)
    print("\n" + text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 1 if failed and not args.no_fail else 0


def _start_servers(args, workdir: Path, running: list, started: float):
    common = {"workers": args.workers, "threads": args.server_threads, "cwd": str(ROOT)}
    app_server = servers.Server("community", "wsgi:app", servers.free_port(), workdir / "gunicorn-app.log", **common)
    hello_server = servers.Server("hello", "bench.hello:app", servers.free_port(), workdir / "gunicorn-hello.log",
                                  **common)  # fmt: skip
    for server in (app_server, hello_server):
        running.append(server)
        server.start()
    app_server.wait_ready("/questions")
    hello_server.wait_ready("/")
    _step(f"gunicorn up: app on :{app_server.port}, hello on :{hello_server.port} "
          f"({args.workers} workers x {args.server_threads} gthread threads)", started)  # fmt: skip
    return app_server, hello_server


def _measure(args, server: servers.Server, path: str, name: str, started: float) -> load.Result:
    try:
        server.wait_ready(path, timeout=60)  # the queue of the previous scenario has drained
        final, status, _ = servers.resolve_path(server.port, path)
    except OSError as exc:
        raise RuntimeError(f"{path}: {exc}") from exc
    if status != 200 or final != path:
        raise RuntimeError(f"{path} answered {status} (-> {final}) under gunicorn\n{server.log_tail(15)}")
    url = f"http://127.0.0.1:{server.port}{path}"
    if args.warmup > 0:
        load.run(url, duration=args.warmup, connections=args.connections, threads=args.threads)
        server.wait_ready(path, timeout=60)  # requests queued by the warm-up must not eat the measurement
    result = load.run(url, duration=args.duration, connections=args.connections, threads=args.threads)
    _step(f"{name}: {result.rps:,.0f} req/s, p50 {result.p50:.1f} ms, p95 {result.p95:.1f} ms"
          + (f", {result.errors} errors" if result.errors else ""), started)  # fmt: skip
    if server.proc.poll() is not None:
        raise servers.ServerError(f"{server.name} died during the run\n{server.log_tail()}")
    return result


def _render(args, hellos, rows, counts, rss, cpu, data, elapsed: float) -> tuple[str, list[str]]:
    throughput, failed = report.throughput_table(hellos, rows)
    notes = report.error_notes(hellos, rows)
    env = (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.python_implementation()} {platform.python_version()} · "
           f"{os.cpu_count()} CPUs · load: {hellos[0].tool}, {args.connections} connections, {args.threads} threads, "
           f"{args.duration:g} s (+{args.warmup:g} s warm-up) per scenario · gunicorn -w {args.workers} "
           f"-k gthread --threads {args.server_threads} · SQLite · anonymous visitor · run took {elapsed:.0f} s")
    parts = [
        "# Benchmark results", "", env, "", "## Throughput", "", throughput, "",
        "## SQL queries per page (anonymous)", "", report.query_table(counts), "",
        "## Memory", "", report.memory_table(rss), "",
        "## Where the time goes (CPU ms per request in-process, one thread; % of the page)", "", cpu, "",
        "Data: " + "; ".join(data.notes),
    ]  # fmt: skip
    if notes:
        parts += ["", "Errors: " + "; ".join(notes)]
    parts += ["", "Targets: " + ("all PASS" if not failed else "FAIL: " + ", ".join(failed))]
    return "\n".join(parts), failed


if __name__ == "__main__":
    sys.exit(main())

"""Gunicorn servers for the benchmark: start on a free port, wait until ready, measure, stop.

Each server runs in its own process group so that stopping it (also on Ctrl-C or an error)
takes the master and its workers down together.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 30.0


class ServerError(RuntimeError):
    """A server did not start or did not answer; the message carries its stderr tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One gunicorn master serving ``target`` (``module:app``) on 127.0.0.1:``port``."""

    name: str
    target: str
    port: int
    log_path: Path
    workers: int = 2
    threads: int = 4
    env: dict = field(default_factory=dict)
    cwd: str = "."
    proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn",
            "-w", str(self.workers), "-k", "gthread", "--threads", str(self.threads),
            "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
            self.target,
        ]  # fmt: skip

    def start(self) -> None:
        """Start gunicorn in a new process group; stdout and stderr go to ``log_path``."""
        log = open(self.log_path, "wb")  # noqa: SIM115  (closed when the server stops)
        self._log = log
        self.proc = subprocess.Popen(
            self.command(), cwd=self.cwd, env={**os.environ, **self.env},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, path: str = "/", timeout: float = READY_TIMEOUT) -> None:
        """Block until ``path`` answers an HTTP request, or raise ServerError with the log tail."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name}: gunicorn exited with code {self.proc.returncode}.\n{self.log_tail()}")
            try:
                status, _, _ = http_get(self.port, path, timeout=5)
                if status < 500:
                    return
                last_error = f"HTTP {status}"
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise ServerError(f"{self.name}: not ready after {timeout:.0f}s ({last_error}).\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        if self.proc is None:
            return []
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return sorted(set(pids))

    def worker_rss_mb(self) -> list[float]:
        """VmRSS of each worker in MB (from /proc/<pid>/status)."""
        return [rss for rss in (vm_rss_mb(pid) for pid in self.worker_pids()) if rss is not None]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # workers can outlive a master that was killed hard; the group signal reaches them too
        _signal_group(self.proc.pid, signal.SIGKILL)
        self._log.close()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def vm_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    """One GET to 127.0.0.1:port; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def resolve_path(port: int, path: str, hops: int = 3) -> tuple[str, int, int]:
    """Follow local redirects (e.g. to a slugged URL) so the load hits the page itself.

    Returns (final path, status, body size). The load tool must not measure a redirect.
    """
    for _ in range(hops + 1):
        status, headers, body = http_get(port, path)
        location = headers.get("Location") or headers.get("location")
        if status in (301, 302, 303, 307, 308) and location:
            path = "/" + location.split("://", 1)[-1].split("/", 1)[-1] if "://" in location else location
            continue
        return path, status, len(body)
    return path, status, len(body)

"""Where a page's time goes: CPU milliseconds per request, split by layer, measured in-process.

The split wraps the layers with ``time.thread_time`` (CPU time of the request thread, so other
processes on a busy machine do not inflate it): SQL in the driver, the read-model services outside
the driver (ORM: statement caching, row -> object), template rendering outside ``url_for``,
``url_for`` called from templates, and the rest (Flask, Werkzeug, Socket.IO middleware, session,
headers). ``--profile`` also writes a pyinstrument call tree per page when pyinstrument is installed.
"""

import functools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event

LAYERS = ("SQL execute", "services (ORM)", "templates", "url_for", "rest")


@dataclass
class Split:
    name: str
    total_ms: float
    layers: dict[str, float] = field(default_factory=dict)


class _Clock:
    """Accumulates CPU time per label; nested labels subtract from their parent (self time)."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.stack: list[list] = []

    def wrap(self, fn, label):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.enter(label)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        return timed

    def enter(self, label):
        self.stack.append([label, time.thread_time(), 0.0])

    def leave(self):
        label, start, children = self.stack.pop()
        spent = time.thread_time() - start
        self.totals[label] = self.totals.get(label, 0.0) + spent - children
        if self.stack:
            self.stack[-1][2] += spent


def split(app, pages: list[tuple[str, str]], *, repeat: int = 20) -> list[Split]:
    """CPU time per request of each (name, path), split by layer, averaged over ``repeat`` GETs."""
    import flask.templating

    from community.extensions import db
    from community.services import queries

    clock = _Clock()
    originals = {"render": flask.templating._render, "url_for": app.jinja_env.globals["url_for"]}
    originals.update({n: getattr(queries, n) for n in dir(queries) if _is_service(queries, n)})
    with app.app_context():
        engine = db.engine

    def before(*_args):
        clock.enter("SQL execute")

    def after(*_args):
        clock.leave()

    try:
        flask.templating._render = clock.wrap(originals["render"], "templates")
        app.jinja_env.globals["url_for"] = clock.wrap(originals["url_for"], "url_for")
        for name in originals:
            if name not in ("render", "url_for"):
                setattr(queries, name, clock.wrap(originals[name], "services (ORM)"))
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        return [_measure(app, clock, name, path, repeat) for name, path in pages]
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        flask.templating._render = originals["render"]
        app.jinja_env.globals["url_for"] = originals["url_for"]
        for name in originals:
            if name not in ("render", "url_for"):
                setattr(queries, name, originals[name])


def _is_service(module, name: str) -> bool:
    obj = getattr(module, name)
    return callable(obj) and getattr(obj, "__module__", "") == module.__name__ and not isinstance(obj, type)


def _measure(app, clock: _Clock, name: str, path: str, repeat: int) -> Split:
    client = app.test_client()
    client.get(path)
    clock.totals.clear()
    start = time.thread_time()
    for _ in range(repeat):
        client.get(path)
    total = (time.thread_time() - start) / repeat * 1000
    layers = {label: clock.totals.get(label, 0.0) / repeat * 1000 for label in LAYERS[:-1]}
    layers["rest"] = max(0.0, total - sum(layers.values()))
    return Split(name, total, layers)


def table(splits: list[Split], hello_ms: float | None = None) -> str:
    """Markdown: CPU ms per request by layer."""
    head = "| page | CPU ms/request | " + " | ".join(LAYERS) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(LAYERS)]
    if hello_ms is not None:
        lines.append(f"| hello world (reference) | {hello_ms:.2f} |" + " |" * len(LAYERS))
    for s in splits:
        cells = " | ".join(f"{s.layers[k]:.1f} ({s.layers[k] / s.total_ms:.0%})" for k in LAYERS)
        lines.append(f"| {s.name} | {s.total_ms:.1f} | {cells} |")
    return "\n".join(lines)


def hello_cpu_ms(repeat: int = 500) -> float:
    """CPU ms per request of the reference app through the same test client path."""
    from bench.hello import app

    client = app.test_client()
    client.get("/")
    start = time.thread_time()
    for _ in range(repeat):
        client.get("/")
    return (time.thread_time() - start) / repeat * 1000


def call_trees(app, pages: list[tuple[str, str]], out_dir: Path, *, repeat: int = 20) -> list[Path]:
    """pyinstrument text trees (one file per page); [] when pyinstrument is not installed."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed (.venv/bin/pip install pyinstrument): no call trees")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    client = app.test_client()
    for name, path in pages:
        client.get(path)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(repeat):
            client.get(path)
        profiler.stop()
        target = out_dir / f"profile-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.txt"
        target.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        written.append(target)
    return written

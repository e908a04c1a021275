"""Markdown tables for the terminal and bench/results/latest.md."""

import math
from dataclasses import dataclass

from bench.load import Result


@dataclass
class Row:
    name: str
    path: str
    result: Result | None
    target: float | None = None
    error: str | None = None


def _num(value: float, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, fmt)


def reference(first: Result, last: Result) -> Result:
    """The hello-world reference: the mean of the runs before and after the pages (drift shows as a gap)."""
    return Result(rps=(first.rps + last.rps) / 2, p50=(first.p50 + last.p50) / 2, p90=(first.p90 + last.p90) / 2,
                  p95=(first.p95 + last.p95) / 2, p99=(first.p99 + last.p99) / 2,
                  requests=first.requests + last.requests, errors=first.errors + last.errors, tool=first.tool)


def throughput_table(hellos: list[Result], rows: list[Row]) -> tuple[str, list[str]]:
    """The throughput table and the list of failed targets (empty when all pass)."""
    hello = reference(hellos[0], hellos[-1])
    lines = [
        "| scenario | req/s | p50 ms | p95 ms | % of hello | target | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, h in (("hello world, first", hellos[0]), ("hello world, last", hellos[-1])):
        lines.append(f"| {label} | {h.rps:,.0f} | {_num(h.p50, '.1f')} | {_num(h.p95, '.1f')} "
                     f"| {h.rps / hello.rps:.0%} of mean | | |")  # fmt: skip
    failed = []
    for row in rows:
        if row.result is None:
            lines.append(f"| {row.name} | error | | | | {_target(row.target)} | FAIL: {row.error} |")
            if row.target:
                failed.append(row.name)
            continue
        r = row.result
        share = r.rps / hello.rps if hello.rps else 0.0
        verdict = ""
        if row.target is not None:
            ok = share >= row.target and r.errors == 0
            verdict = "PASS" if ok else "FAIL"
            if not ok:
                failed.append(row.name)
        lines.append(f"| {row.name} | {r.rps:,.0f} | {_num(r.p50, '.1f')} | {_num(r.p95, '.1f')} | {share:.1%} "
                     f"| {_target(row.target)} | {verdict} |")  # fmt: skip
    return "\n".join(lines), failed


def _target(target: float | None) -> str:
    return f"≥ {target:.0%}" if target is not None else ""


def query_table(counts) -> str:
    lines = ["| page | path | status | SQL queries | KB |", "|---|---|---:|---:|---:|"]
    for c in counts:
        lines.append(f"| {c.name} | `{c.path}` | {c.status} | {c.queries} | {c.kb:.1f} |")
    return "\n".join(lines)


def memory_table(rss: dict[str, list[float]]) -> str:
    lines = ["| server | worker RSS MB (after the run) |", "|---|---|"]
    for name, values in rss.items():
        lines.append(f"| {name} | {', '.join(f'{v:.1f}' for v in values) or 'n/a'} |")
    return "\n".join(lines)


def error_notes(hellos: list[Result], rows: list[Row]) -> list[str]:
    notes = []
    for name, r in [("hello world", h) for h in hellos] + [(row.name, row.result) for row in rows]:
        if r is not None and r.errors:
            notes.append(f"{name}: {r.errors} failed or non-2xx responses out of {r.requests}")
    return notes

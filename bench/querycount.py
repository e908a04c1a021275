"""SQL statements per page, counted in-process with a Flask test client (anonymous visitor)."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import event


@dataclass
class PageCount:
    name: str
    path: str
    status: int
    queries: int
    kb: float


def count(app, pages: list[tuple[str, str]]) -> list[PageCount]:
    """GET each page twice (the first warms caches) and count the statements of the second."""
    from community.extensions import db

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def _on_execute(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _on_execute)
    try:
        client = app.test_client()
        results = []
        for name, path in pages:
            path = _final_path(client, path)
            client.get(path)
            statements.clear()
            resp = client.get(path)
            results.append(PageCount(name, path, resp.status_code, len(statements), len(resp.data) / 1024))
        return results
    finally:
        event.remove(engine, "before_cursor_execute", _on_execute)


def _final_path(client, path: str, hops: int = 3) -> str:
    """Follow redirects (a slug appended to the URL, say) so the page itself is counted and loaded."""
    for _ in range(hops):
        resp = client.get(path)
        if resp.status_code not in (301, 302, 303, 307, 308) or not resp.location:
            return path
        parts = urlsplit(resp.location)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path


def statements_for(app, path: str) -> list[str]:
    """The SQL statements one anonymous GET of ``path`` issues (for digging into a high count)."""
    from community.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def _on_execute(conn, cursor, statement, *args):
        seen.append(statement)

    client = app.test_client()
    client.get(path)
    event.listen(engine, "before_cursor_execute", _on_execute)
    try:
        client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", _on_execute)
    return seen

"""A short-lived cache of anonymous page views (the approach of Discourse's anonymous cache).

Most traffic of a support community is visitors without an account arriving from a search
engine. Their pages are the same for everyone, so a rendered page is kept for at most
``PAGE_CACHE_SECONDS`` and only while no content changed: every committed change bumps a content
version (process-local, and shared through Redis when ``REDIS_URL`` is set), which retires every
cached page at once. A request carrying a session or remember-me cookie, or an Authorization
header, always renders fresh; so do non-GET requests and responses that set a cookie.
"""

import logging
import threading
import time
from collections import OrderedDict

from flask import Response, g, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from community.models import ApiToken, OutboxMessage

# writes that do not change what a visitor sees
_INVISIBLE_ATTRS = {"last_seen_at", "last_used_at", "updated_at"}

CACHEABLE_ENDPOINTS = {
    "badges.index", "badges.badge",
    "qa.questions", "qa.question", "qa.categories", "qa.category", "qa.tags", "qa.tag",
    "users.index", "users.profile", "reputation.leaderboard", "reputation.history",
}  # fmt: skip
VERSION_KEY = "community:content-version"


class PageCache:
    """A bounded LRU of (version, expiry, status, headers, body) by URL."""

    def __init__(self, max_entries: int, ttl: float, redis=None):
        self.max_entries, self.ttl, self.redis = max_entries, ttl, redis
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._local_version = 0

    def version(self) -> str:
        if self.redis is not None:
            try:
                return f"r{int(self.redis.get(VERSION_KEY) or 0)}:{self._local_version}"
            except Exception:  # Redis away: fall back to this process's knowledge
                return f"l{self._local_version}"
        return str(self._local_version)

    def bump(self, _events=None) -> None:
        with self._lock:
            self._local_version += 1
            self._entries.clear()
        if self.redis is not None:
            try:
                self.redis.incr(VERSION_KEY)
            except Exception:  # best effort; the TTL still bounds staleness
                logging.getLogger(__name__).warning("could not bump the shared page-cache version")

    def get(self, key: str):
        version = self.version()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version or entry[1] < time.monotonic():
                return None, version
            self._entries.move_to_end(key)
            return entry, version

    def put(self, key: str, version: str, response: Response) -> None:
        headers = [(k, v) for k, v in response.headers if k.lower() in ("content-type", "content-language")]
        entry = (version, time.monotonic() + self.ttl, response.status_code, headers, response.get_data())
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def _cacheable_request(app) -> bool:
    if request.method != "GET" or request.endpoint not in CACHEABLE_ENDPOINTS:
        return False
    if "Authorization" in request.headers:
        return False
    cookies = request.cookies
    return app.config["SESSION_COOKIE_NAME"] not in cookies and app.config.get(
        "REMEMBER_COOKIE_NAME", "remember_token"
    ) not in cookies


def _visible_change(session) -> bool:
    for obj in list(session.new) + list(session.deleted):
        if not isinstance(obj, (OutboxMessage, ApiToken)):
            return True
    for obj in session.dirty:
        if isinstance(obj, (OutboxMessage, ApiToken)):
            continue
        changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
        if changed - _INVISIBLE_ATTRS:
            return True
    return False


_caches: list = []


def _watch_commits(cache: PageCache) -> None:
    """Bump the content version after any commit that changed something a visitor can see."""
    _caches.append(cache)
    if len(_caches) > 1:
        return

    @event.listens_for(Session, "before_flush")
    def _before_flush(session, _context, _instances):
        if not session.info.get("page_visible_change") and _visible_change(session):
            session.info["page_visible_change"] = True

    @event.listens_for(Session, "do_orm_execute")
    def _bulk_write(state):
        mapper = state.bind_mapper
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        if mapper is None or mapper.class_ not in (OutboxMessage, ApiToken):
            state.session.info["page_visible_change"] = True

    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        if session.info.pop("page_visible_change", False):
            for c in _caches:
                c.bump()

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):
        if previous_transaction.parent is None:
            session.info.pop("page_visible_change", None)


def init_app(app) -> None:
    ttl = float(app.config.get("PAGE_CACHE_SECONDS") or 0)
    if ttl <= 0:
        return
    redis = None
    if app.config.get("REDIS_URL"):
        import redis as redis_lib

        redis = redis_lib.Redis.from_url(app.config["REDIS_URL"], socket_timeout=0.5)
    cache = PageCache(int(app.config.get("PAGE_CACHE_ENTRIES", 1000)), ttl, redis)
    app.extensions["page_cache"] = cache
    _watch_commits(cache)

    @app.before_request
    def _serve_cached():
        if not _cacheable_request(app):
            return None
        key = request.host + request.full_path
        entry, version = cache.get(key)
        if entry is None:
            g.page_cache = (key, version)
            return None
        _, _, status, headers, body = entry
        g.page_cache_hit = True
        response = Response(body, status=status, headers=headers)
        response.headers["X-Page-Cache"] = "hit"
        return response

    @app.after_request
    def _store(response):
        pending = g.pop("page_cache", None)
        if pending is None or g.get("page_cache_hit"):
            return response
        if response.status_code == 200 and "Set-Cookie" not in response.headers and response.mimetype == "text/html":
            cache.put(pending[0], pending[1], response)
            response.headers["X-Page-Cache"] = "miss"
        return response

"""Question page views, counted in memory and written in batches.

A page view costs no database write: ``record`` adds it to this process's counter (the same
viewer and question count once per ``DEDUPE_SECONDS``). ``flush`` (called every
``VIEW_FLUSH_SECONDS`` by the relay's loop, and by ``flask badges flush-views``) adds the counts to
``posts.view_count`` in one transaction, one UPDATE per distinct increment, then evaluates the
view badges of those questions' authors. Because it is one commit, it retires the anonymous page
cache at most once per flush.
"""

import hashlib
import threading
import time
from collections import defaultdict
from contextlib import contextmanager

from sqlalchemy import select, update

from community.models import Question
from community.services import badges

DEDUPE_SECONDS = 15 * 60
MAX_TRACKED = 200_000  # viewer/question pairs remembered for the dedupe window


def viewer_key(user_id: int | None, remote_addr: str | None) -> str:
    """The user id, or a hash of the address (addresses themselves are never kept)."""
    if user_id is not None:
        return f"u{user_id}"
    return "a" + hashlib.sha256((remote_addr or "?").encode()).hexdigest()[:16]


class ViewCounter:
    """Pending view counts of one process; thread-safe."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple, float] = {}
        self._pending: dict[int, int] = defaultdict(int)
        self.last_flush = clock()

    def record(self, question_id: int, viewer: str) -> bool:
        """Count a view unless this viewer saw this question within the dedupe window."""
        now = self.clock()
        key = (viewer, question_id)
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen < DEDUPE_SECONDS:
                return False
            if len(self._seen) >= MAX_TRACKED:
                self._prune(now)
            self._seen[key] = now
            self._pending[question_id] += 1
            return True

    def _prune(self, now: float) -> None:
        self._seen = {k: t for k, t in self._seen.items() if now - t < DEDUPE_SECONDS}
        if len(self._seen) >= MAX_TRACKED:  # a flood of distinct viewers: forget the oldest half
            keep = sorted(self._seen.items(), key=lambda kv: kv[1])[len(self._seen) // 2:]
            self._seen = dict(keep)

    def take(self) -> dict[int, int]:
        with self._lock:
            pending, self._pending = dict(self._pending), defaultdict(int)
            self._prune(self.clock())
            self.last_flush = self.clock()
            return pending

    def give_back(self, counts: dict[int, int]) -> None:
        with self._lock:
            for qid, n in counts.items():
                self._pending[qid] += n

    def pending(self) -> dict[int, int]:
        with self._lock:
            return dict(self._pending)

    def due(self, every: float) -> bool:
        return every > 0 and self.clock() - self.last_flush >= every


counter = ViewCounter()


def record(question_id: int, viewer: str) -> bool:
    return counter.record(question_id, viewer)


@contextmanager
def batch(view_counter: ViewCounter | None = None):
    """Take the pending counts; they go back if the block (the caller's transaction) fails."""
    view_counter = view_counter or counter
    taken = view_counter.take()
    try:
        yield taken
    except BaseException:
        view_counter.give_back(taken)
        raise


def apply(session, counts: dict[int, int]) -> int:
    """Add the counts to the questions and evaluate the view badges of their authors. The caller
    commits. Returns the number of views written."""
    counts = {qid: n for qid, n in counts.items() if n > 0}
    if not counts:
        return 0
    by_increment: dict[int, list[int]] = defaultdict(list)
    for qid, n in counts.items():
        by_increment[n].append(qid)
    for n, ids in sorted(by_increment.items()):
        session.execute(update(Question).where(Question.id.in_(ids)).values(view_count=Question.view_count + n)
                        .execution_options(synchronize_session=False))  # fmt: skip
    authors = session.scalars(select(Question.author_id).where(Question.id.in_(list(counts))).distinct())
    badges.evaluate(session, "view", user_ids=list(authors))
    return sum(counts.values())

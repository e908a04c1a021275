"""A large, skewed reputation dataset written straight into a SQLite file (for bench/reputation.py).

Users, categories, tags, questions (1-3 tags each), answers, accepted answers and votes are
generated as tuples and bulk-inserted with ``executemany`` on the raw sqlite3 connection; the
schema comes from the models (``create_all``). The ledger and ``reputation_totals`` are then
written by ``reputation rebuild`` itself, so the leaderboards read exactly what production writes.
Deterministic for a given size (seeded random).
"""

import random
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

STRIDE = 104_729  # a prime: voter j of post p is (p * 7919 + j * STRIDE) % users, distinct for j < users


@dataclass
class Size:
    users: int
    questions: int
    answers_per_question: float
    votes_per_post: float
    days: int = 700


FULL = Size(users=100_000, questions=200_000, answers_per_question=2.0, votes_per_post=4.0)
QUICK = Size(users=10_000, questions=20_000, answers_per_question=2.0, votes_per_post=4.0)


def _ts(when: datetime) -> str:
    # the format SQLAlchemy's SQLite DateTime type writes and compares against
    return f"{when:%Y-%m-%d %H:%M:%S}.{when.microsecond:06d}"


def _skewed(rng: random.Random, n: int, power: float) -> int:
    """1..n, most picks near 1: a few members write most posts and earn most votes."""
    return 1 + int(n * rng.random() ** power)


def generate(path: str, size: Size, *, end: datetime, seed: int = 3) -> dict:
    """Fill the (already created, empty) schema at ``path``; returns row counts."""
    rng = random.Random(seed)
    start = end - timedelta(days=size.days)
    span = size.days * 86_400
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    counts = {}
    with conn:
        counts["users"] = _users(conn, size, start)
        _taxonomy(conn, start)
        counts["questions"], counts["answers"], accepted, posts = _posts(conn, rng, size, start, span)
        counts["accepted"] = accepted
        counts["votes"] = _votes(conn, rng, size, posts, end)
    conn.close()
    return counts


def _users(conn, size: Size, start: datetime) -> int:
    joined = _ts(start)
    conn.executemany(
        "INSERT INTO users (id, email, display_name, password_hash, role, about, about_html, avatar_seed, created_at,"
        " last_seen_at, is_active_account, reputation, question_count, answer_count, accepted_count)"
        " VALUES (?, ?, ?, '!', ?, '', '', ?, ?, ?, 1, 1, 0, 0, 0)",
        ((i, f"user{i}@example.com", f"Member {i}", "moderator" if i % 997 == 0 else "member", f"seed{i}", joined,
          joined) for i in range(1, size.users + 1)),
    )  # fmt: skip
    return size.users


def _taxonomy(conn, start: datetime) -> None:
    at = _ts(start)
    conn.executemany("INSERT INTO categories (id, slug, name, description, position, is_default, question_count,"
                     " created_at) VALUES (?, ?, ?, '', ?, ?, 0, ?)",
                     ((i, f"category-{i}", f"Category {i}", i, i == 1, at) for i in range(1, 13)))  # fmt: skip
    conn.executemany("INSERT INTO tags (id, name, description, question_count, created_at) VALUES (?, ?, '', 0, ?)",
                     ((i, f"tag-{i}", at) for i in range(1, 301)))  # fmt: skip


def _posts(conn, rng: random.Random, size: Size, start: datetime, span: int):
    """Questions get ids 1..Q, answers follow; returns the counts and (id, type, author, created) per post."""
    questions, answers, tags, posts = [], [], [], []
    next_id = size.questions + 1
    accepted = 0
    for qid in range(1, size.questions + 1):
        asked = start + timedelta(seconds=int(span * rng.random() ** 0.7))
        asker = _skewed(rng, size.users, 2.0)
        n_answers = min(8, int(rng.expovariate(1 / size.answers_per_question)))
        chosen, chosen_at = None, None
        for k in range(n_answers):
            answerer = _skewed(rng, size.users, 3.0)
            answered = asked + timedelta(minutes=int(rng.expovariate(1 / 600)) + k)
            answers.append((next_id, answerer, _ts(answered), qid))
            posts.append((next_id, "answer", answerer, answered))
            if chosen is None and answerer != asker and rng.random() < 0.6:
                chosen, chosen_at = next_id, answered + timedelta(hours=2)
            next_id += 1
        accepted += chosen is not None
        questions.append((qid, asker, _ts(asked), f"Question {qid}", 1 + qid % 12, chosen,
                          n_answers, _ts(chosen_at) if chosen_at else None))  # fmt: skip
        posts.append((qid, "question", asker, asked))
        for tag in rng.sample(range(1, 301), rng.randint(1, 3)):
            tags.append((qid, 1 + int(299 * (tag / 300) ** 2)))
    conn.executemany(
        "INSERT INTO posts (id, type, author_id, body, body_html, excerpt, score, comment_count, revision_count,"
        " created_at, last_activity_at, title, category_id, accepted_answer_id, answer_count, accepted_at, view_count)"
        " VALUES (?, 'question', ?, 'body', '<p>body</p>', 'body', 0, 0, 1, ?3, ?3, ?, ?, ?, ?, ?, 0)", questions)  # fmt: skip
    conn.executemany(
        "INSERT INTO posts (id, type, author_id, body, body_html, excerpt, score, comment_count, revision_count,"
        " created_at, last_activity_at, question_id) VALUES (?, 'answer', ?, 'body', '<p>body</p>', 'body', 0, 0, 1,"
        " ?3, ?3, ?)", answers)  # fmt: skip
    conn.executemany("INSERT OR IGNORE INTO question_tags (question_id, tag_id) VALUES (?, ?)", tags)
    return len(questions), len(answers), accepted, posts


def _votes(conn, rng: random.Random, size: Size, posts: list, end: datetime) -> int:
    rows, vote_id, scores = [], 0, {}
    for pid, _ptype, author, created in posts:
        n = min(size.users - 1, int(rng.expovariate(1 / size.votes_per_post)))
        score = 0
        for j in range(n):
            voter = 1 + (pid * 7919 + j * STRIDE) % size.users
            if voter == author:
                continue
            value = 1 if rng.random() < 0.88 else -1
            when = min(end, created + timedelta(seconds=int(rng.expovariate(1 / 259_200))))
            vote_id += 1
            at = _ts(when)
            rows.append((vote_id, pid, voter, value, at, at))
            score += value
        if score:
            scores[pid] = score
        if len(rows) >= 200_000:
            conn.executemany("INSERT INTO votes (id, post_id, user_id, value, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
            rows = []
    conn.executemany("INSERT INTO votes (id, post_id, user_id, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                     rows)  # fmt: skip
    conn.executemany("UPDATE posts SET score = ? WHERE id = ?", ((s, pid) for pid, s in scores.items()))
    return vote_id

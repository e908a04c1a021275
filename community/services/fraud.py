"""Serial-voting detection: ``flask reputation detect-fraud``.

Two rules over the votes that currently stand (on posts that are not deleted):

- ``burst``: one voter gave one target user at least ``burst`` votes within some ``hours`` window;
- ``share``: a target with at least ``min_votes`` upvotes received ``share`` % or more of them from
  one voter.

Each case (unique voter, target, rule) records its votes in ``fraud_votes`` and their reputation is
reversed with ``fraud_reversal`` entries. A vote already recorded (by any case) is skipped, so a
second run finds nothing new and writes nothing; ``reputation rebuild`` leaves recorded votes out
of the replay, so the reversal survives a rebuild.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from community.db import utcnow
from community.models import FraudCase, FraudVote, Post, ReputationEntry, User, Vote
from community.services import reputation

POSTS = Post.__table__


@dataclass
class Case:
    """What one run found for one (voter, target, rule); ``votes`` are the newly recorded ones."""

    voter_id: int
    target_id: int
    rule: str
    votes: list = field(default_factory=list)  # (vote id, created_at, post id, value)
    reversed: int = 0  # reputation taken back (from the target and, for downvote costs, the voter)
    explanation: str = ""


def _live_votes():
    """Votes on posts (and questions) that are not deleted, with the target user; self-votes excluded."""
    p, q = POSTS.alias("p"), POSTS.alias("q")
    target = p.c.author_id.label("target_id")
    stmt = (select(Vote.id, Vote.created_at, Vote.user_id, target, Vote.post_id, Vote.value)
            .join(p, p.c.id == Vote.post_id).outerjoin(q, q.c.id == p.c.question_id)
            .where(p.c.deleted_at.is_(None), q.c.deleted_at.is_(None), Vote.user_id != p.c.author_id))  # fmt: skip
    return stmt, target


def _pair_votes(session, pairs: list, *, upvotes_only: bool) -> dict:
    """All live votes of the (voter, target) pairs, grouped per pair, in time order."""
    stmt, _target = _live_votes()
    if upvotes_only:
        stmt = stmt.where(Vote.value > 0)
    wanted = set(pairs)
    voters = sorted({voter for voter, _t in wanted})
    grouped = defaultdict(list)
    for start in range(0, len(voters), 500):
        for vid, at, voter, target, post_id, value in session.execute(stmt.where(Vote.user_id.in_(voters[start:start + 500]))):
            if (voter, target) in wanted:
                grouped[(voter, target)].append((vid, at, post_id, value))
    for votes in grouped.values():
        votes.sort(key=lambda v: (v[1], v[0]))
    return grouped


def _pair_counts(session, *, upvotes_only: bool, at_least: int) -> list:
    """(voter, target, votes) for the pairs with at least ``at_least`` live votes."""
    stmt, target = _live_votes()
    if upvotes_only:
        stmt = stmt.where(Vote.value > 0)
    return session.execute(stmt.with_only_columns(Vote.user_id, target, func.count(Vote.id))
                           .group_by(Vote.user_id, target).having(func.count(Vote.id) >= at_least)).all()  # fmt: skip


def _bursts(session, *, hours: int, burst: int) -> dict:
    """(voter, target) -> the votes that fall in some window of ``hours`` holding >= ``burst`` votes."""
    candidates = [(voter, target) for voter, target, _n in _pair_counts(session, upvotes_only=False, at_least=burst)]
    window = timedelta(hours=hours)
    found = {}
    for pair, votes in _pair_votes(session, candidates, upvotes_only=False).items():
        flagged, start = set(), 0
        for end in range(len(votes)):
            while votes[end][1] - votes[start][1] >= window:
                start += 1
            if end - start + 1 >= burst:
                flagged.update(range(start, end + 1))
        if flagged:
            found[pair] = [votes[i] for i in sorted(flagged)]
    return found


def _shares(session, *, share: int, min_votes: int) -> dict:
    """(voter, target) -> the voter's upvotes, when they are >= ``share`` % of the target's (>= min_votes)."""
    stmt, target = _live_votes()
    received = dict(session.execute(stmt.where(Vote.value > 0).with_only_columns(target, func.count(Vote.id))
                                    .group_by(target).having(func.count(Vote.id) >= min_votes)).all())  # fmt: skip
    # a pair can only reach the share of a target with >= min_votes upvotes from this many votes up
    floor = max(1, math.ceil(min_votes * share / 100))
    candidates = [(voter, tgt) for voter, tgt, n in _pair_counts(session, upvotes_only=True, at_least=floor)
                  if tgt in received and n * 100 >= received[tgt] * share]  # fmt: skip
    return _pair_votes(session, candidates, upvotes_only=True)


def _recorded(session, votes) -> set:
    """The (vote id, created_at) of the votes already in some fraud case."""
    ids = [v[0] for v in votes]
    seen = set()
    for start in range(0, len(ids), 500):
        rows = session.execute(select(FraudVote.vote_id, FraudVote.vote_created_at)
                               .where(FraudVote.vote_id.in_(ids[start:start + 500])))  # fmt: skip
        seen.update(rows.all())
    return seen


def _reverse_votes(session, votes, *, note: str, now: datetime) -> int:
    """Reverse the live ledger entries of the votes; returns the reputation taken back (absolute)."""
    created = {v[0]: v[1] for v in votes}
    ids = sorted(created)
    entries = []
    for start in range(0, len(ids), 500):
        chunk = reputation.live_entries(session, ReputationEntry.source_type == "vote",
                                        ReputationEntry.source_id.in_(ids[start:start + 500]))  # fmt: skip
        # a vote is its id *and* its creation time (SQLite may reuse the id of a deleted vote)
        entries += [e for e in chunk if e.created_at >= created[e.source_id]]
    written = reputation.reverse(session, entries, kind="fraud_reversal", note=note[:300], now=now)
    return sum(abs(e.delta) for e in written)


def _describe(case: Case, names: dict, hours: int) -> str:
    ups = sum(1 for v in case.votes if v[3] > 0)
    kinds = f"{ups} upvote{'s' if ups != 1 else ''}"
    if len(case.votes) != ups:
        kinds += f" and {len(case.votes) - ups} downvote{'s' if len(case.votes) - ups != 1 else ''}"
    first, last = case.votes[0][1], case.votes[-1][1]
    why = f"within {hours} h" if case.rule == "burst" else "a large share of all the upvotes they received"
    return (f"voter {names.get(case.voter_id, '?')} (#{case.voter_id}) gave target {names.get(case.target_id, '?')} "
            f"(#{case.target_id}) {kinds} between {first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC ({case.rule}: "
            f"{why}); {case.reversed} reputation reversed")  # fmt: skip


def _record(session, case: Case, explanation: str, now: datetime) -> None:
    row = session.scalars(select(FraudCase).where(FraudCase.voter_id == case.voter_id,
                                                  FraudCase.target_id == case.target_id,
                                                  FraudCase.rule == case.rule)).first()  # fmt: skip
    if row is None:
        row = FraudCase(voter_id=case.voter_id, target_id=case.target_id, rule=case.rule, vote_count=0,
                        explanation="", detected_at=now)  # fmt: skip
        session.add(row)
    row.vote_count += len(case.votes)
    row.explanation = (row.explanation + "\n" if row.explanation else "") + explanation
    row.detected_at = now
    session.flush()
    session.add_all([FraudVote(case_id=row.id, vote_id=vid, vote_created_at=at, post_id=post_id, voter_id=case.voter_id)
                     for vid, at, post_id, _value in case.votes])  # fmt: skip
    session.flush()


def detect(session, *, hours: int = 24, burst: int = 10, share: int = 50, min_votes: int = 10,
           now: datetime | None = None) -> list[Case]:  # fmt: skip
    """Find serial voting, record each case and reverse its votes' reputation.

    Only votes no case has recorded yet count as new, so the detection is idempotent. Runs in the
    caller's transaction (the CLI rolls it back for ``--dry-run``). Returns the new or extended cases.
    """
    if hours < 1 or burst < 2 or not 1 <= share <= 100 or min_votes < 1:
        raise ValueError("hours >= 1, burst >= 2, 1 <= share <= 100 and min_votes >= 1")
    now = now or utcnow()
    found = [("burst", _bursts(session, hours=hours, burst=burst)),
             ("share", _shares(session, share=share, min_votes=min_votes))]  # fmt: skip
    everything = [v for _rule, pairs in found for votes in pairs.values() for v in votes]
    taken = _recorded(session, everything)
    user_ids = {u for _rule, pairs in found for pair in pairs for u in pair}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    cases = []
    for rule, pairs in found:
        for (voter, target), votes in sorted(pairs.items()):
            new = [v for v in votes if (v[0], v[1]) not in taken]
            if not new:
                continue
            taken.update((v[0], v[1]) for v in new)
            case = Case(voter, target, rule, new)
            note = f"serial voting ({rule}): voter #{voter} on target #{target}"
            case.reversed = _reverse_votes(session, new, note=note, now=now)
            case.explanation = _describe(case, names, hours)
            _record(session, case, case.explanation, now)
            cases.append(case)
    return cases


def recent_cases(session, *, limit: int = 100) -> list[FraudCase]:
    """The latest fraud cases, newest first (for the staff page)."""
    return list(session.scalars(select(FraudCase).order_by(FraudCase.detected_at.desc(), FraudCase.id.desc())
                                .limit(limit)))  # fmt: skip

"""The rules the demo seed builds its past under (see ``community.demo``)."""

from contextlib import contextmanager

from community.services import badges, reputation_rules


@contextmanager
def seeding_mode(session):
    """Build the past under rules that refuse nothing and with badges deferred; yield the real rules.

    The services enforce today's privileges and the daily vote limit with today's reputations, and
    judge badges and date ledger entries by today's clock, but the demo happens over 180 days: once
    it is back-dated, ``settle`` replays the ledger under the real rules and backfills the badges.
    Both overrides live in this session's ``info`` only while the block runs, and are removed even
    when the seed fails.
    """
    real = reputation_rules.current(session)
    # every amount 0: the build writes no ledger entries at all (the replay writes the real ones once)
    amounts = {name: 0 for name in real.rules if name not in ("daily_cap", "floor", "votes_per_day")}
    relaxed = reputation_rules.Ruleset(preset=real.preset, rules={**real.rules, **amounts, "votes_per_day": 10_000},
                                       levels=real.levels, privileges=dict.fromkeys(real.privileges, 1))  # fmt: skip
    session.info["reputation_ruleset"] = relaxed
    session.info[badges.DEFERRED] = True
    try:
        yield real
    finally:
        session.info.pop(badges.DEFERRED, None)
        if session.info.get("reputation_ruleset") is relaxed:
            del session.info["reputation_ruleset"]

"""The leaderboard page, the reputation history page, the tag page's top answerers."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from community.db import transaction, utcnow
from community.extensions import db
from community.models import ReputationEntry, User
from community.services import qa, reputation, votes


def count_get(client, url):
    """(response, SQL statements) of one GET from a cold session."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response, seen


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def voted(session, users, ask, answer):
    """Other Member's answer upvoted by member and moderator, then accepted."""
    question = ask(users["member"])
    reply = answer(users["other"], question)
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=reply.id, value=1)
        votes.cast(session, actor=users["moderator"], post_id=reply.id, value=1)
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=reply.id)
    return question, reply


# --- leaderboard --------------------------------------------------------------------------------


def test_leaderboard_lists_members_with_levels_but_not_staff(client, users, voted):
    body = text(client.get("/leaderboard"))
    assert "Other Member" in body and "Member User" in body
    assert "Moderator User" not in body and "Admin User" not in body
    assert body.index("Other Member") < body.index("Member User")  # 235 before 202
    assert "Contributor" in body
    assert 'style="' not in body


def test_staff_switch_shows_staff(client, users, voted):
    assert "Moderator User" in text(client.get("/leaderboard?staff=1"))


def test_week_tab_shows_points_earned_this_week(client, users, voted):
    body = text(client.get("/leaderboard?period=week"))
    assert 'aria-current="page">This week<' in body
    assert re.search(r"/users/\d+/reputation\">234<", body)  # 199 fixture grant + 20 votes + 15 accept


def test_tag_filter_shows_points_earned_in_the_tag(client, users, voted):
    body = text(client.get("/leaderboard?tag=billing"))
    assert "Other Member" in body and "Member User" in body  # the asker earned +2 for accepting
    assert "Marketer User" not in body
    assert re.search(r'/users/\d+/reputation">35<', body)


def test_unknown_tag_is_404_and_bad_period_falls_back(client, users):
    assert client.get("/leaderboard?tag=nope").status_code == 404
    assert 'aria-current="page">All time<' in text(client.get("/leaderboard?period=decade"))


def test_viewer_sees_their_rank(client, auth, users, voted):
    auth.login("other@example.com")
    assert "You are <strong>#1</strong>\n  with 235 points." in text(client.get("/leaderboard"))
    auth.login("admin@example.com")
    assert "Staff are left out of this board" in text(client.get("/leaderboard"))
    assert "You are not on this board yet." in text(client.get("/leaderboard?period=week&tag=billing&staff=1"))


def test_leaderboard_paginates(client, session, users):
    with transaction(session):
        session.add_all(User(email=f"extra{i}@example.com", display_name=f"Extra {i:02d}", password_hash="x" * 20,
                             avatar_seed=f"s{i}", reputation=1000 + i) for i in range(50))  # fmt: skip
    first, second = text(client.get("/leaderboard")), text(client.get("/leaderboard?page=2"))
    assert "Extra 49" in first and "Member User" not in first
    assert "Member User" in second and 'rel="prev"' in second
    assert '<td class="num">51</td>' in second


def test_leaderboard_is_a_constant_number_of_queries(client, auth, session, users, voted):
    auth.login("other@example.com")
    ids = [user.id for user in users.values()]
    _r, small = count_get(client, "/leaderboard?period=week&tag=billing")
    with transaction(session):
        for user_id in ids:
            reputation.apply(session, [reputation.Grant(user_id, 5, "moderator_adjustment", f"x:{user_id}",
                                                        source_type="adjustment", scopes=("t1", "t2"))])  # fmt: skip
    _r, large = count_get(client, "/leaderboard?period=week&tag=billing")
    assert len(small) == len(large) <= 9, large


def test_nav_links_the_leaderboard(client, users):
    assert 'href="/leaderboard"' in text(client.get("/questions"))


# --- reputation history -------------------------------------------------------------------------


def test_history_groups_entries_by_day_with_sources(client, users, voted):
    question, reply = voted
    body = text(client.get(f"/users/{users['other'].id}/reputation"))
    assert body.count('class="rep-day card"') == 1
    assert "Answer upvoted" in body and "Answer accepted" in body and "Reason: test fixture" in body
    assert f'href="/questions/{question.id}#answer-{reply.id}"' in body
    assert "<svg" in body and 'class="rep-chart-line"' in body
    assert 'style="' not in body


def test_history_marks_reversals_and_links_the_reversed_entry(client, session, users, voted):
    _question, reply = voted
    with transaction(session):
        votes.cast(session, actor=users["member"], post_id=reply.id, value=0)
    retracted = session.query(ReputationEntry).filter_by(kind="vote_retracted").one()
    body = text(client.get(f"/users/{users['other'].id}/reputation"))
    assert "Vote retracted" in body and "reversal" in body
    assert f"entry={retracted.reverses_id}#rep-{retracted.reverses_id}" in body
    assert f"entry={retracted.id}#rep-{retracted.id}" in body  # the reversed entry says by which


def test_history_pages_by_days_and_finds_an_entrys_page(client, session, users):
    user = users["member"]
    with transaction(session):
        for days in range(25):
            reputation.apply(session, [reputation.Grant(user.id, 1, "moderator_adjustment", f"d:{days}",
                                                        source_type="adjustment", note=f"day {days}")],
                             now=utcnow() - timedelta(days=days + 1))  # fmt: skip
    first = text(client.get(f"/users/{user.id}/reputation"))
    assert first.count('class="rep-day card"') == 20 and "day 24" not in first
    second = text(client.get(f"/users/{user.id}/reputation?page=2"))
    assert second.count('class="rep-day card"') == 6 and "day 24" in second  # 5 old days + the fixture's day
    oldest = session.query(ReputationEntry).filter_by(key="d:24").one()
    assert "day 24" in text(client.get(f"/users/{user.id}/reputation?entry={oldest.id}"))


def test_history_is_a_constant_number_of_queries(client, session, users, voted):
    url = f"/users/{users['other'].id}/reputation"
    question_id, answer_id = voted[0].id, voted[1].id
    voters = [users["marketer"].id, users["admin"].id]
    _r, small = count_get(client, url)
    with transaction(session):
        for voter in voters:
            votes.cast(session, actor=session.get(User, voter), post_id=answer_id, value=1)
        votes.cast(session, actor=session.get(User, voters[0]), post_id=question_id, value=1)
        session.execute(update(ReputationEntry).where(ReputationEntry.kind == "answer_accepted")
                        .values(created_at=utcnow() - timedelta(days=3)))  # fmt: skip
    _r, large = count_get(client, url)
    assert len(small) == len(large) <= 8, large


def test_history_of_unknown_user_is_404(client, users):
    assert client.get("/users/999999/reputation").status_code == 404


def test_profile_links_the_history(client, users):
    assert f'href="/users/{users["other"].id}/reputation"' in text(client.get(f"/users/{users['other'].id}"))


# --- tag page -----------------------------------------------------------------------------------


def test_tag_page_shows_top_answerers(client, users, voted):
    body = text(client.get("/tags/billing"))
    assert "Top answerers" in body
    section = body[body.index("Top answerers"):]
    assert "Other Member" in section and "score 2 · 1 accepted · 1 answer" in section

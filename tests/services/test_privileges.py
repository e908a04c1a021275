"""Every reputation-gated privilege is enforced by the services, with its explanation; staff bypass them."""

import pytest

from community.db import transaction
from community.services import comments, qa, reputation, votes
from community.services.errors import PermissionDenied
from tests.conftest import make_user

BODY = "Open Billing, then Invoices, and press Recalculate to refresh the amount."


def _member(session, reputation_points, role="member"):
    return make_user(session, f"m{reputation_points}-{role}@example.com", f"Rep {reputation_points}", role,
                     reputation=reputation_points)  # fmt: skip


def _vote(session, actor, post_id, value):
    with transaction(session):
        return votes.cast(session, actor=actor, post_id=post_id, value=value)


def _comment(session, actor, post_id):
    with transaction(session):
        return comments.add(session, actor=actor, post_id=post_id, body="A comment that is long enough.")


def test_voting_up_below_15_is_refused_with_the_reason(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied, match=r"^You need 15 reputation to vote up; you have 14\.$"):
        _vote(session, _member(session, 14), question.id, 1)
    assert question.score == 0


def test_voting_up_at_15_is_allowed(session, users, ask):
    assert _vote(session, _member(session, 15), ask(users["member"]).id, 1) == (1, 1)


def test_voting_down_below_125_is_refused_with_the_reason(session, users, ask):
    with pytest.raises(PermissionDenied, match=r"^You need 125 reputation to vote down; you have 124\.$"):
        _vote(session, _member(session, 124), ask(users["member"]).id, -1)


def test_voting_down_at_125_is_allowed(session, users, ask):
    assert _vote(session, _member(session, 125), ask(users["member"]).id, -1) == (-1, -1)


def test_retracting_a_vote_needs_no_privilege(session, users, ask):
    voter = _member(session, 15)
    question = ask(users["member"])
    _vote(session, voter, question.id, 1)
    with transaction(session):
        reputation.record_adjustment(session, user_id=voter.id, delta=-10, reason="test drop")
    session.refresh(voter)
    assert _vote(session, voter, question.id, 0) == (0, 0)


def test_commenting_on_others_posts_below_50_is_refused_with_the_reason(session, users, ask):
    with pytest.raises(PermissionDenied, match=r"^You need 50 reputation to comment everywhere; you have 49\.$"):
        _comment(session, _member(session, 49), ask(users["member"]).id)


def test_commenting_at_50_is_allowed(session, users, ask):
    assert _comment(session, _member(session, 50), ask(users["member"]).id).id


def test_newcomers_comment_on_their_own_question_and_its_answers(session, users, ask, answer):
    newcomer = _member(session, 1)
    question = ask(newcomer)
    reply = answer(users["other"], question)
    assert _comment(session, newcomer, question.id).id
    assert _comment(session, newcomer, reply.id).id


def test_newcomers_comment_on_their_own_answer(session, users, ask, answer):
    newcomer = _member(session, 1)
    reply = answer(newcomer, ask(users["member"]))
    assert _comment(session, newcomer, reply.id).id


def test_editing_others_posts_below_2000_is_refused_with_the_reason(session, users, ask):
    with pytest.raises(PermissionDenied, match=r"^You need 2,000 reputation to edit others' posts; you have 1,999\.$"):
        with transaction(session):
            qa.edit(session, actor=_member(session, 1999), post_id=ask(users["member"]).id, body=BODY,
                    title="Invoice shows the old price", tags=["billing"])  # fmt: skip


def test_editing_others_posts_at_2000_is_allowed(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.edit(session, actor=_member(session, 2000), post_id=question.id, body=BODY,
                title="Invoice shows the old price", tags=["billing"])  # fmt: skip
    assert question.body == BODY


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_staff_bypass_every_privilege(session, users, ask, answer, role):
    staff = _member(session, 1, role=role)
    question = ask(users["member"])
    reply = answer(users["other"], question)
    assert _vote(session, staff, question.id, 1) == (1, 1)
    assert _vote(session, staff, reply.id, -1) == (-1, -1)
    assert _comment(session, staff, question.id).id
    with transaction(session):
        qa.edit(session, actor=staff, post_id=reply.id, body=BODY)
    assert reply.body == BODY


def test_marketers_are_not_staff_for_privileges(session, users, ask):
    with pytest.raises(PermissionDenied, match="You need 15 reputation to vote up"):
        _vote(session, _member(session, 1, role="marketer"), ask(users["member"]).id, 1)


def test_the_41st_vote_of_the_day_is_refused(session, users, ask):
    voter = users["other"]
    question = ask(users["member"])
    with transaction(session):
        posts = [qa.answer(session, actor=users["member"], question_id=question.id, body=f"{BODY} ({i})")
                 for i in range(40)]  # fmt: skip
    for post in posts:
        _vote(session, voter, post.id, 1)
    with pytest.raises(PermissionDenied, match=r"^You have used your 40 votes for today"):
        _vote(session, voter, question.id, 1)
    assert _vote(session, voter, posts[0].id, 0) == (0, 0)  # retracting is not a new vote

"""Suggested edits: who may suggest, the rules, one pending per post, review, reputation and its cap."""

import pytest
from sqlalchemy import func, select

from community.db import transaction, utcnow
from community.models import ReputationEntry, Revision, SuggestedEdit, User
from community.services import qa, reputation, reputation_replay, reputation_rules, suggested_edits
from community.services.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from tests.conftest import make_user

NEW_BODY = "Open Billing, then Invoices, and press Recalculate; the new price shows at once."


def _suggest(session, actor, post_id, **kw):
    kw.setdefault("body", NEW_BODY)
    with transaction(session):
        return suggested_edits.suggest(session, actor=actor, post_id=post_id, **kw)


def _approve(session, actor, suggestion_id, note=""):
    with transaction(session):
        return suggested_edits.approve(session, actor=actor, suggestion_id=suggestion_id, note=note)


def _reject(session, actor, suggestion_id, note=""):
    with transaction(session):
        return suggested_edits.reject(session, actor=actor, suggestion_id=suggestion_id, note=note)


def _rep(session, user):
    return session.scalar(select(User.reputation).where(User.id == user.id))


# --- suggesting -----------------------------------------------------------------------------------


def test_member_below_edit_privilege_suggests_an_edit(session, newbie, post):
    suggestion = _suggest(session, newbie, post.id, reason="clearer steps")
    assert (suggestion.status, suggestion.author_id, suggestion.body) == ("pending", newbie.id, NEW_BODY)
    assert suggestion.reason == "clearer steps"
    assert post.body != NEW_BODY  # nothing changes before review


def test_suggestion_on_a_question_carries_title_and_tags(session, newbie, users, ask):
    question = ask(users["member"])
    suggestion = _suggest(session, newbie, question.id, title="Invoice shows the old plan price",
                          tags="billing, plans")  # fmt: skip
    assert (suggestion.title, suggestion.tags) == ("Invoice shows the old plan price", "billing plans")


def test_suggestion_follows_the_edit_rules(session, newbie, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation) as exc:
        _suggest(session, newbie, question.id, body="too short", title="short", tags="")
    assert set(exc.value.fields) == {"body", "title", "tags"}


def test_suggestion_that_changes_nothing_is_refused(session, newbie, post):
    with pytest.raises(RuleViolation, match="Nothing changed"):
        _suggest(session, newbie, post.id, body=post.body)


def test_second_pending_suggestion_on_a_post_is_a_conflict(session, newbie, post):
    _suggest(session, newbie, post.id)
    other = make_user(session, "second@example.com", "Second Suggester", "member", reputation=10)
    with pytest.raises(Conflict, match="already has a suggested edit"):
        _suggest(session, other, post.id, body=NEW_BODY + " Also check the plan page.")


def test_a_new_suggestion_is_possible_once_the_previous_was_reviewed(session, newbie, users, post):
    first = _suggest(session, newbie, post.id)
    _reject(session, users["other"], first.id)
    assert _suggest(session, newbie, post.id).status == "pending"


def test_suggestion_on_a_deleted_post_is_refused(session, newbie, users, post):
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    with pytest.raises((RuleViolation, NotFound)):
        _suggest(session, newbie, post.id)


@pytest.mark.parametrize("who", ["author", "moderator", "privileged"])
def test_those_who_may_edit_edit_directly_instead_of_suggesting(session, users, post, who):
    actor = {"author": users["other"], "moderator": users["moderator"]}.get(who) or make_user(
        session, "editor@example.com", "Eddie Editor", "member", reputation=2000
    )
    with pytest.raises(RuleViolation, match="edit this post directly"):
        _suggest(session, actor, post.id)


def test_member_below_edit_privilege_cannot_edit_directly(session, newbie, post):
    with pytest.raises(PermissionDenied, match="You need 2,000 reputation to edit others' posts; you have 10."):
        with transaction(session):
            qa.edit(session, actor=newbie, post_id=post.id, body=NEW_BODY)


def test_member_with_edit_privilege_edits_others_posts(session, post):
    editor = make_user(session, "editor@example.com", "Eddie Editor", "member", reputation=2000)
    with transaction(session):
        qa.edit(session, actor=editor, post_id=post.id, body=NEW_BODY)
    assert post.body == NEW_BODY


# --- reviewing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reviewer", ["other", "moderator"])
def test_author_or_moderator_approves_as_a_revision_by_the_suggester(session, newbie, users, post, reviewer):
    suggestion = _suggest(session, newbie, post.id, reason="clearer steps")
    _approve(session, users[reviewer], suggestion.id, note="Thanks")
    latest = session.scalars(
        select(Revision).where(Revision.post_id == post.id).order_by(Revision.number.desc())
    ).first()
    assert (latest.number, latest.author_id, latest.body, latest.reason) == (2, newbie.id, NEW_BODY, "clearer steps")
    assert post.body == NEW_BODY and post.revision_count == 2
    assert (suggestion.status, suggestion.reviewer_id, suggestion.review_note) == (
        "approved",
        users[reviewer].id,
        "Thanks",
    )


def test_approved_question_suggestion_changes_title_and_tags(session, newbie, users, ask):
    question = ask(users["member"])
    suggestion = _suggest(session, newbie, question.id, title="Invoice shows the old plan price", tags="plans")
    _approve(session, users["member"], suggestion.id)
    assert question.title == "Invoice shows the old plan price"
    assert [t.name for t in question.tags] == ["plans"]


@pytest.mark.parametrize("reviewer", ["member", "marketer", "newbie"])
def test_others_cannot_review(session, newbie, users, post, reviewer):
    suggestion = _suggest(session, newbie, post.id)
    actor = newbie if reviewer == "newbie" else users[reviewer]
    with pytest.raises((PermissionDenied, NotFound)):
        _approve(session, actor, suggestion.id)
    assert session.get(SuggestedEdit, suggestion.id).status == "pending"


def test_approval_grants_plus_2_through_the_ledger(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    _approve(session, users["other"], suggestion.id)
    entry = session.scalars(select(ReputationEntry).where(ReputationEntry.user_id == newbie.id,
                                                          ReputationEntry.kind == "suggested_edit_approved")).one()  # fmt: skip
    assert (entry.delta, entry.key, entry.source_type, entry.source_id) == (
        2,
        f"suggested-edit:{suggestion.id}",
        "suggested_edit",
        suggestion.id,
    )
    assert (entry.post_id, entry.actor_id) == (post.id, users["other"].id)
    assert _rep(session, newbie) == 12
    assert reputation.verify(session) == []


def test_rejection_grants_nothing_and_keeps_the_post(session, newbie, users, post):
    body = post.body
    suggestion = _suggest(session, newbie, post.id)
    _reject(session, users["moderator"], suggestion.id, note="Changes the meaning")
    assert (suggestion.status, suggestion.review_note) == ("rejected", "Changes the meaning")
    assert post.body == body and _rep(session, newbie) == 10


def test_reviewing_twice_is_a_conflict(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    _approve(session, users["other"], suggestion.id)
    with pytest.raises(Conflict, match="already approved"):
        _reject(session, users["moderator"], suggestion.id)
    assert _rep(session, newbie) == 12


def test_approval_after_the_post_changed_is_a_conflict(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    with transaction(session):
        qa.edit(session, actor=users["other"], post_id=post.id, body=post.body + " Edited by the author.")
    with pytest.raises(Conflict, match="edited after this suggestion"):
        _approve(session, users["other"], suggestion.id)
    assert session.get(SuggestedEdit, suggestion.id).status == "pending"
    _reject(session, users["other"], suggestion.id)  # it can still be rejected


def test_approval_on_a_deleted_post_is_refused(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    with pytest.raises(RuleViolation, match="deleted"):
        _approve(session, users["moderator"], suggestion.id)


def test_suggested_edit_reputation_stops_at_the_maximum(session, newbie, users, ask):
    rules = reputation_rules.current(session)
    capped = reputation_rules.Ruleset(preset=rules.preset, rules={**rules.rules, "suggested_edit_max": 5},
                                      levels=rules.levels, privileges=rules.privileges)  # fmt: skip
    with transaction(session):
        reputation_rules.save(session, actor=users["admin"], ruleset=capped)
    for n in range(3):
        question = ask(users["member"], title=f"Invoice shows the wrong amount {n}")
        _approve(session, users["member"], _suggest(session, newbie, question.id, title=f"Invoice shows old price {n}",
                                                    tags="billing").id)  # fmt: skip
    deltas = session.scalars(select(ReputationEntry.delta).where(ReputationEntry.user_id == newbie.id,
                                                                 ReputationEntry.kind == "suggested_edit_approved")
                             .order_by(ReputationEntry.id)).all()  # fmt: skip
    assert list(deltas) == [2, 2, 1]
    assert _rep(session, newbie) == 15


def test_rebuild_applies_the_same_cap(session, newbie, users, ask):
    rules = reputation_rules.current(session)
    capped = reputation_rules.Ruleset(preset=rules.preset, rules={**rules.rules, "suggested_edit_max": 3},
                                      levels=rules.levels, privileges=rules.privileges)  # fmt: skip
    for n in range(3):
        question = ask(users["member"], title=f"Invoice shows the wrong amount {n}")
        _approve(session, users["member"], _suggest(session, newbie, question.id, title=f"Invoice shows old price {n}",
                                                    tags="billing").id)  # fmt: skip
    assert _rep(session, newbie) == 16
    with transaction(session):
        reputation_rules.save(session, actor=users["admin"], ruleset=capped)
        reputation_replay.rebuild(session, capped)
    session.expire_all()
    assert _rep(session, newbie) == 13
    assert reputation.verify(session) == []


def test_approval_awards_the_edit_badge_trigger_to_the_suggester(session, newbie, users, post, monkeypatch):
    calls = []
    monkeypatch.setattr(suggested_edits.badges, "evaluate", lambda s, trigger, **kw: calls.append((trigger, kw)))
    _approve(session, users["other"], _suggest(session, newbie, post.id).id)
    assert calls == [("edit", {"user_ids": [newbie.id], "post_id": post.id})]


# --- queue, page notice, diff -------------------------------------------------------------------


def test_queue_shows_moderators_everything_and_authors_their_posts(session, newbie, users, ask, post):
    on_answer = _suggest(session, newbie, post.id)
    question = ask(users["marketer"], title="Another invoice question here")
    on_question = _suggest(session, newbie, question.id, title="Another invoice question, edited", tags="billing")
    ids = lambda user: [s.id for s in suggested_edits.queue(session, viewer=user).items]  # noqa: E731
    assert ids(users["moderator"]) == [on_answer.id, on_question.id]
    assert ids(users["other"]) == [on_answer.id]
    assert ids(users["marketer"]) == [on_question.id]
    assert ids(newbie) == []


def test_pending_on_question_lists_what_the_viewer_may_review(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    qid = post.question_id
    assert [s.id for s in suggested_edits.pending_on_question(session, viewer=users["other"], question_id=qid)] == [
        suggestion.id
    ]
    assert suggested_edits.pending_on_question(session, viewer=users["member"], question_id=qid) == []
    assert suggested_edits.pending_on_question(session, viewer=None, question_id=qid) == []


def test_changes_are_a_diff_against_the_current_post(session, newbie, post):
    suggestion = _suggest(session, newbie, post.id)
    rows = suggested_edits.changes(session, suggestion)["body_diff"]
    assert ("add", NEW_BODY) in rows
    assert ("del", post.body) in rows


def test_suggestion_is_hidden_from_unrelated_members(session, newbie, users, post):
    suggestion = _suggest(session, newbie, post.id)
    assert suggested_edits.get(session, suggestion.id, viewer=newbie) is suggestion
    with pytest.raises(NotFound):
        suggested_edits.get(session, suggestion.id, viewer=users["member"])


def test_suggestion_created_at_is_recorded(session, newbie, post):
    before = utcnow()
    suggestion = _suggest(session, newbie, post.id)
    assert suggestion.created_at >= before
    assert session.scalar(select(func.count(SuggestedEdit.id))) == 1


def test_deleting_the_post_reverses_the_reward_live_and_in_rebuild(session, newbie, users, post):
    _approve(session, users["other"], _suggest(session, newbie, post.id).id)
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    assert _rep(session, newbie) == 10
    with transaction(session):
        reputation_replay.rebuild(session, reputation_rules.current(session))
    session.expire_all()
    assert _rep(session, newbie) == 10

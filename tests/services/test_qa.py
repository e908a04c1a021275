"""qa service: asking rules, counters, answering, editing, deleting, accepting, after-commit events."""

import pytest
from sqlalchemy import select, update

from community.db import transaction
from community.models import Category, Question, Revision, Tag, User
from community.services import qa
from community.services.errors import NotFound, PermissionDenied, RuleViolation

BODY = "A body that is comfortably longer than thirty characters."
TITLE = "How do I change my billing address?"


def _ask(session, actor, **kw):
    data = {"title": TITLE, "body": BODY, "tags": ["billing"], "category": "billing"}
    data.update(kw)
    with transaction(session):
        return qa.ask(session, actor=actor, **data)


def _fields(session, actor, **kw):
    with pytest.raises(RuleViolation) as exc:
        _ask(session, actor, **kw)
    return exc.value.fields


def _count(session, model, row_id, column):
    return session.execute(select(getattr(model, column)).where(model.id == row_id)).scalar_one()


def _tag_count(session, name):
    return session.execute(select(Tag.question_count).where(Tag.name == name)).scalar_one()


# --- ask: per-field rules ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [15, 150])
def test_ask_accepts_title_at_length_bounds(session, users, category, length):
    assert len(_ask(session, users["member"], title="t" * length).title) == length


@pytest.mark.parametrize("length", [14, 151])
def test_ask_rejects_title_outside_length_bounds(session, users, category, length):
    assert "title" in _fields(session, users["member"], title="t" * length)


def test_ask_rejects_whitespace_only_title(session, users, category):
    assert "title" in _fields(session, users["member"], title=" \t\n " * 10)


def test_ask_collapses_whitespace_in_title(session, users, category):
    assert _ask(session, users["member"], title="  How   do I\tpay my invoice?  ").title == "How do I pay my invoice?"


@pytest.mark.parametrize("length", [30, 30_000])
def test_ask_accepts_body_at_length_bounds(session, users, category, length):
    assert len(_ask(session, users["member"], body="b" * length).body) == length


@pytest.mark.parametrize("length", [29, 30_001])
def test_ask_rejects_body_outside_length_bounds(session, users, category, length):
    assert "body" in _fields(session, users["member"], body="b" * length)


def test_ask_body_length_ignores_surrounding_whitespace(session, users, category):
    assert "body" in _fields(session, users["member"], body="   " + "b" * 29 + "\n\n\n")


@pytest.mark.parametrize("tags", [[], None, "", " , "], ids=["empty-list", "none", "empty-string", "separators"])
def test_ask_requires_at_least_one_tag(session, users, category, tags):
    assert "tags" in _fields(session, users["member"], tags=tags)


@pytest.mark.parametrize("count", [1, 5])
def test_ask_accepts_one_to_five_tags(session, users, category, count):
    names = [f"tag{i}" for i in range(count)]
    assert sorted(t.name for t in _ask(session, users["member"], tags=names).tags) == names


def test_ask_rejects_six_tags(session, users, category):
    assert "tags" in _fields(session, users["member"], tags=[f"tag{i}" for i in range(6)])


@pytest.mark.parametrize("name", ["c_sharp", "tag with space", "naïve", "<b>", "tag/slash", "tag!"])
def test_ask_rejects_tag_with_bad_characters(session, users, category, name):
    assert "tags" in _fields(session, users["member"], tags=[name])


@pytest.mark.parametrize("name", ["c++", "c#", ".net", "node-js", "v2.0"])
def test_ask_accepts_tag_with_allowed_punctuation(session, users, category, name):
    assert [t.name for t in _ask(session, users["member"], tags=[name]).tags] == [name]


def test_ask_accepts_tag_of_25_characters(session, users, category):
    assert _ask(session, users["member"], tags=["t" * 25]).tags[0].name == "t" * 25


def test_ask_rejects_tag_of_26_characters(session, users, category):
    assert "tags" in _fields(session, users["member"], tags=["t" * 26])


def test_ask_lowercases_and_collapses_duplicate_tags(session, users, category):
    question = _ask(session, users["member"], tags=["Billing", "billing", "BILLING", "vat"])
    assert [t.name for t in question.tags] == ["billing", "vat"]


def test_ask_duplicates_do_not_count_towards_the_tag_limit(session, users, category):
    question = _ask(session, users["member"], tags=["a", "b", "c", "d", "e", "a", "b"])
    assert len(question.tags) == 5


def test_ask_accepts_tags_as_space_or_comma_separated_string(session, users, category):
    question = _ask(session, users["member"], tags="python,  flask sql ,")
    assert sorted(t.name for t in question.tags) == ["flask", "python", "sql"]


def test_ask_reuses_existing_tags(session, users, category):
    _ask(session, users["member"], tags=["billing"])
    _ask(session, users["other"], tags=["billing"])
    assert len(session.scalars(select(Tag).where(Tag.name == "billing")).all()) == 1


def test_ask_rejects_unknown_category(session, users, category):
    assert "category" in _fields(session, users["member"], category="no-such-category")


def test_ask_uses_default_category_when_omitted(session, users, category):
    assert _ask(session, users["member"], category=None).category_id == category.id


def test_ask_without_category_and_without_default_is_refused(session, users):
    assert "category" in _fields(session, users["member"], category=None)


def test_ask_reports_every_bad_field_together(session, users, category):
    fields = _fields(session, users["member"], title="short", body="tiny", tags=[], category="nope")
    assert set(fields) == {"title", "body", "tags", "category"}


def test_ask_writes_nothing_when_refused(session, users, category):
    _fields(session, users["member"], title="short", tags=["brand-new-tag"])
    assert session.scalar(select(Question)) is None
    assert session.scalar(select(Tag)) is None


def test_ask_by_inactive_user_is_denied(session, users, category):
    with transaction(session):
        users["member"].is_active_account = False
    with pytest.raises(PermissionDenied):
        _ask(session, users["member"])


def test_ask_creates_first_revision(session, users, category):
    question = _ask(session, users["member"], tags=["vat", "billing"])
    [rev] = session.scalars(select(Revision).where(Revision.post_id == question.id)).all()
    assert (rev.number, rev.title, rev.body, rev.tags) == (1, TITLE, BODY, "vat billing")


def test_ask_renders_body_html_and_excerpt(session, users, category):
    question = _ask(session, users["member"], body="Some **bold** words and <script>x()</script> a longer tail.")
    assert "<strong>bold</strong>" in question.body_html
    assert "<script" not in question.body_html
    assert question.excerpt.startswith("Some bold words")


# --- counters -------------------------------------------------------------------------------------


def test_ask_increments_user_category_and_tag_counters(session, users, category):
    _ask(session, users["member"], tags=["billing", "vat"])
    _ask(session, users["member"], tags=["billing"])
    assert _count(session, User, users["member"].id, "question_count") == 2
    assert _count(session, Category, category.id, "question_count") == 2
    assert (_tag_count(session, "billing"), _tag_count(session, "vat")) == (2, 1)


def test_counters_are_incremented_in_sql_not_from_stale_objects(session, users, category):
    member = users["member"]
    assert member.question_count == 0  # the object now holds a (soon stale) 0
    session.execute(update(User).where(User.id == member.id).values(question_count=7))
    session.execute(update(Category).where(Category.id == category.id).values(question_count=7))
    _ask(session, member)
    assert _count(session, User, member.id, "question_count") == 8
    assert _count(session, Category, category.id, "question_count") == 8


def test_delete_question_decrements_counters(session, users, category):
    question = _ask(session, users["member"], tags=["billing", "vat"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    assert _count(session, User, users["member"].id, "question_count") == 0
    assert _count(session, Category, category.id, "question_count") == 0
    assert (_tag_count(session, "billing"), _tag_count(session, "vat")) == (0, 0)


def test_answer_increments_question_and_user_answer_counts(session, users, ask, answer):
    question = ask(users["member"])
    answer(users["other"], question)
    answer(users["moderator"], question)
    assert _count(session, Question, question.id, "answer_count") == 2
    assert _count(session, User, users["other"].id, "answer_count") == 1


def test_edit_moves_tag_counters(session, users, ask):
    question = ask(users["member"], tags=["billing", "vat"])
    with transaction(session):
        qa.edit(session, actor=users["member"], post_id=question.id, body=question.body,
                title=question.title, tags=["billing", "refunds"])  # fmt: skip
    assert [_tag_count(session, n) for n in ("billing", "vat", "refunds")] == [1, 0, 1]


# --- answer ---------------------------------------------------------------------------------------


def test_answer_on_deleted_question_is_refused_for_staff(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(RuleViolation):
        qa.answer(session, actor=users["moderator"], question_id=question.id, body=BODY)


def test_answer_on_deleted_question_is_not_found_for_members(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(NotFound):
        qa.answer(session, actor=users["other"], question_id=question.id, body=BODY)


def test_answer_on_unknown_question_is_not_found(session, users, category):
    with pytest.raises(NotFound):
        qa.answer(session, actor=users["other"], question_id=424242, body=BODY)


def test_answer_to_an_answer_id_is_not_found(session, users, ask, answer):
    first = answer(users["other"], ask(users["member"]))
    with pytest.raises(NotFound):
        qa.answer(session, actor=users["member"], question_id=first.id, body=BODY)


@pytest.mark.parametrize("body", ["too short", "", "   " * 20, "x" * 30_001])
def test_answer_body_rules(session, users, ask, body):
    question = ask(users["member"])
    with pytest.raises(RuleViolation) as exc:
        qa.answer(session, actor=users["other"], question_id=question.id, body=body)
    assert "body" in exc.value.fields


def test_anonymous_cannot_answer(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        qa.answer(session, actor=None, question_id=question.id, body=BODY)


# --- edit -----------------------------------------------------------------------------------------


def _edit(session, actor, post, **kw):
    data = {"body": post.body}
    if isinstance(post, Question):
        data.update(title=post.title, tags=[t.name for t in post.tags])
    data.update(kw)
    with transaction(session):
        return qa.edit(session, actor=actor, post_id=post.id, **data)


def test_edit_by_author_creates_next_revision_with_reason(session, users, ask):
    question = ask(users["member"])
    _edit(session, users["member"], question, body=BODY + " Edited.", reason="Added detail")
    _edit(session, users["member"], question, body=BODY + " Edited twice.", reason="More")
    revs = session.scalars(select(Revision).where(Revision.post_id == question.id).order_by(Revision.number)).all()
    assert [(r.number, r.reason) for r in revs] == [(1, "Initial version"), (2, "Added detail"), (3, "More")]
    assert question.revision_count == 3
    assert question.edited_at is not None


def test_edit_without_reason_records_default_reason(session, users, ask):
    question = ask(users["member"])
    _edit(session, users["member"], question, body=BODY + " Edited.")
    rev = session.scalars(select(Revision).where(Revision.post_id == question.id, Revision.number == 2)).one()
    assert rev.reason == "Edited"


def test_edit_by_other_member_is_denied(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        _edit(session, users["other"], question, body=BODY + " Hijacked.")


def test_edit_by_marketer_of_others_post_is_denied(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        _edit(session, users["marketer"], question, body=BODY + " Buy our upgrade.")


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_staff_may_edit_any_post(session, users, ask, role):
    question = ask(users["member"])
    _edit(session, users[role], question, body=BODY + " Tidied.", reason="Formatting")
    rev = session.scalars(select(Revision).where(Revision.post_id == question.id, Revision.number == 2)).one()
    assert rev.author_id == users[role].id


def test_edit_that_changes_nothing_is_refused(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation, match="Nothing changed"):
        _edit(session, users["member"], question)


def test_edit_that_only_adds_whitespace_is_refused(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation, match="Nothing changed"):
        _edit(session, users["member"], question, body="  " + question.body + "\n\n", title=question.title + "  ")


def test_edit_that_only_reorders_tags_is_refused(session, users, ask):
    question = ask(users["member"], tags=["billing", "invoices"])
    with pytest.raises(RuleViolation, match="Nothing changed"):
        _edit(session, users["member"], question, tags=["invoices", "billing"])


def test_edit_rerenders_body_html_and_updates_excerpt(session, users, ask):
    question = ask(users["member"])
    _edit(session, users["member"], question, body="Now with *emphasis* and a completely new opening line.")
    assert "<em>emphasis</em>" in question.body_html
    assert question.excerpt.startswith("Now with emphasis and a completely new")


def test_edit_answer_creates_revision_without_title(session, users, ask, answer):
    post = answer(users["other"], ask(users["member"]))
    _edit(session, users["other"], post, body=post.body + " Also restart.", reason="More")
    rev = session.scalars(select(Revision).where(Revision.post_id == post.id, Revision.number == 2)).one()
    assert (rev.title, rev.tags) == (None, None)


def test_edit_reports_bad_fields_together(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(RuleViolation) as exc:
        _edit(session, users["member"], question, body="tiny", title="short", tags=[], reason="r" * 301)
    assert set(exc.value.fields) == {"body", "title", "tags", "reason"}


def test_author_cannot_edit_own_deleted_post(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(PermissionDenied):
        _edit(session, users["member"], question, body=BODY + " Edited.")


# --- delete ---------------------------------------------------------------------------------------


def test_delete_is_soft(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    assert session.get(Question, question.id).deleted_at is not None
    assert question.deleted_by_id == users["member"].id


@pytest.mark.parametrize("viewer", ["member", "moderator", "admin"])
def test_deleted_post_stays_visible_to_author_and_staff(session, users, ask, viewer):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    assert qa.get_post(session, question.id, viewer=users[viewer]).is_deleted


def test_answer_of_deleted_question_is_not_found_for_others(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(NotFound):
        qa.get_post(session, post.id, viewer=users["marketer"])


@pytest.mark.parametrize("name", ["..", ".", "-", "+", "#", "+-#."])
def test_ask_rejects_tag_of_only_punctuation(session, users, category, name):
    assert "tags" in _fields(session, users["member"], tags=[name])


@pytest.mark.parametrize("viewer", ["other", "marketer", None])
def test_deleted_post_is_not_found_for_others(session, users, ask, viewer):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(NotFound):
        qa.get_post(session, question.id, viewer=users[viewer] if viewer else None)


def test_delete_by_other_member_is_denied(session, users, ask):
    question = ask(users["member"])
    with pytest.raises(PermissionDenied):
        qa.delete(session, actor=users["other"], post_id=question.id)


def test_moderator_may_delete_any_post(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["moderator"], post_id=question.id)
    assert question.deleted_by_id == users["moderator"].id


def test_deleting_twice_is_refused(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(RuleViolation):
        qa.delete(session, actor=users["member"], post_id=question.id)


def test_deleting_accepted_answer_unaccepts_it_and_decrements_accepted_count(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    assert _count(session, User, users["other"].id, "accepted_count") == 1
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    assert _count(session, Question, question.id, "accepted_answer_id") is None
    assert _count(session, User, users["other"].id, "accepted_count") == 0
    assert _count(session, Question, question.id, "answer_count") == 0


def test_deleting_question_with_accepted_answer_decrements_accepted_count(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=post.id)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    assert _count(session, User, users["other"].id, "accepted_count") == 0


# --- accept ---------------------------------------------------------------------------------------


def _accept(session, actor, question, answer_id):
    with transaction(session):
        return qa.accept(session, actor=actor, question_id=question.id, answer_id=answer_id)


@pytest.mark.parametrize("role", ["other", "moderator", "admin"])
def test_accept_by_anyone_but_the_asker_is_denied(session, users, ask, answer, role):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with pytest.raises(PermissionDenied):
        _accept(session, users[role], question, post.id)


def test_accept_sets_accepted_answer_and_count(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    _accept(session, users["member"], question, post.id)
    assert question.accepted_answer_id == post.id
    assert _count(session, User, users["other"].id, "accepted_count") == 1


def test_switching_accepted_answer_moves_accepted_count(session, users, ask, answer):
    question = ask(users["member"])
    first, second = answer(users["other"], question), answer(users["moderator"], question)
    _accept(session, users["member"], question, first.id)
    _accept(session, users["member"], question, second.id)
    assert question.accepted_answer_id == second.id
    assert _count(session, User, users["other"].id, "accepted_count") == 0
    assert _count(session, User, users["moderator"].id, "accepted_count") == 1


def test_withdrawing_acceptance_decrements_accepted_count(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    _accept(session, users["member"], question, post.id)
    _accept(session, users["member"], question, None)
    assert question.accepted_answer_id is None
    assert _count(session, User, users["other"].id, "accepted_count") == 0


def test_accepting_the_same_answer_twice_counts_once(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    _accept(session, users["member"], question, post.id)
    _accept(session, users["member"], question, post.id)
    assert _count(session, User, users["other"].id, "accepted_count") == 1


def test_accepting_an_answer_of_another_question_is_not_found(session, users, ask, answer):
    question = ask(users["member"])
    elsewhere = answer(users["other"], ask(users["moderator"], title="A different question entirely"))
    with pytest.raises(NotFound):
        _accept(session, users["member"], question, elsewhere.id)


def test_accepting_a_deleted_answer_is_not_found(session, users, ask, answer):
    question = ask(users["member"])
    post = answer(users["other"], question)
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=post.id)
    with pytest.raises(NotFound):
        _accept(session, users["member"], question, post.id)


# --- after-commit events --------------------------------------------------------------------------


def test_ask_records_question_posted_after_commit(session, users, category, events):
    question = _ask(session, users["member"])
    assert [(e["name"], e["room"], e["payload"]["question_id"]) for e in events] == [
        ("question_posted", "questions", question.id)
    ]


def test_answer_records_answer_posted_to_the_question_room(session, users, ask, answer, events):
    question = ask(users["member"])
    events.clear()
    post = answer(users["other"], question)
    assert [(e["name"], e["room"]) for e in events] == [("answer_posted", f"question:{question.id}")]
    assert events[0]["payload"]["answer_id"] == post.id


def test_accept_records_answer_accepted(session, users, ask, answer, events):
    question = ask(users["member"])
    post = answer(users["other"], question)
    events.clear()
    _accept(session, users["member"], question, post.id)
    others = ("reputation_changed", "badge_awarded")  # accepting may also award Scholar / Solution Provider
    assert [(e["name"], e["payload"]["answer_id"]) for e in events if e["name"] not in others] == [
        ("answer_accepted", post.id)
    ]
    assert sorted(e["payload"]["delta"] for e in events if e["name"] == "reputation_changed") == [2, 15]


def test_events_are_not_dispatched_before_commit(session, users, category, events):
    with transaction(session):
        qa.ask(session, actor=users["member"], title=TITLE, body=BODY, tags=["billing"], category="billing")
        assert events == []
    assert len(events) == 1


def test_events_are_not_dispatched_on_rollback(session, users, category, events):
    with pytest.raises(RuntimeError), transaction(session):
        qa.ask(session, actor=users["member"], title=TITLE, body=BODY, tags=["billing"], category="billing")
        raise RuntimeError("boom")
    assert events == []
    assert session.scalar(select(Question)) is None


def test_events_from_a_rolled_back_transaction_do_not_leak_into_the_next(session, users, category, events):
    with pytest.raises(RuntimeError), transaction(session):
        qa.ask(session, actor=users["member"], title=TITLE, body=BODY, tags=["billing"], category="billing")
        raise RuntimeError("boom")
    question = _ask(session, users["member"], title="The second and only real question")
    assert [e["payload"]["question_id"] for e in events] == [question.id]


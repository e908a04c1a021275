"""queries: question lists (sorts, filters, pages), the question view and revision diffs."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from community.db import transaction
from community.models import Category, Post, Question, User
from community.services import qa, queries
from community.services.errors import NotFound, RuleViolation
from tests.conftest import count_queries

BASE = datetime(2025, 1, 1, 12, 0)




def _set(session, post, **values):
    with transaction(session):
        session.execute(update(Post).where(Post.id == post.id).values(**values))
    session.expire_all()


@pytest.fixture
def three(session, users, ask):
    """Three questions: a (oldest, score 5, inactive), b (score 1, most active, answered), c (newest, score 5)."""
    a = ask(users["member"], title="Question A about invoices", tags=["invoices"])
    b = ask(users["member"], title="Question B about the billing", tags=["billing"])
    c = ask(users["other"], title="Question C about the payment", tags=["billing", "cards"])
    _set(session, a, created_at=BASE, last_activity_at=BASE, score=5)
    _set(session, b, created_at=BASE + timedelta(hours=1), last_activity_at=BASE + timedelta(days=3), score=1)
    _set(session, c, created_at=BASE + timedelta(hours=2), last_activity_at=BASE + timedelta(hours=2), score=5)
    with transaction(session):
        session.execute(update(Question).where(Question.id == b.id).values(answer_count=1))
    return {"a": a, "b": b, "c": c}


def _titles(page, three):
    ids = {q.id: k for k, q in three.items()}
    return [ids[q.id] for q in page.items]


def test_newest_sort_puts_latest_first(session, three):
    assert _titles(queries.list_questions(session, sort="newest"), three) == ["c", "b", "a"]


def test_active_sort_uses_last_activity(session, three):
    assert _titles(queries.list_questions(session, sort="active"), three) == ["b", "c", "a"]


def test_votes_sort_uses_score_then_newest(session, three):
    assert _titles(queries.list_questions(session, sort="votes"), three) == ["c", "a", "b"]


def test_unanswered_lists_only_questions_without_answers(session, three):
    assert _titles(queries.list_questions(session, sort="unanswered"), three) == ["c", "a"]


def test_unknown_sort_is_refused(session, three):
    with pytest.raises(RuleViolation) as exc:
        queries.list_questions(session, sort="random")
    assert "sort" in exc.value.fields


def test_tag_filter(session, three):
    assert _titles(queries.list_questions(session, tag="billing"), three) == ["c", "b"]


def test_unknown_tag_filter_lists_nothing(session, three):
    page = queries.list_questions(session, tag="no-such-tag")
    assert (page.items, page.total) == ([], 0)


def test_category_filter(session, three, users, ask):
    with transaction(session):
        session.add(Category(slug="accounts", name="Accounts"))
    other = ask(users["member"], title="A question about my account", category="accounts")
    assert [q.id for q in queries.list_questions(session, category="accounts").items] == [other.id]
    assert len(queries.list_questions(session, category="billing").items) == 3


def test_author_filter(session, three, users):
    assert _titles(queries.list_questions(session, author_id=users["other"].id), three) == ["c"]


def test_deleted_questions_are_not_listed(session, three, users):
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=three["a"].id)
    page = queries.list_questions(session)
    assert (_titles(page, three), page.total) == (["c", "b"], 2)


def test_pagination_totals_and_last_page(session, users, ask):
    for i in range(5):
        ask(users["member"], title=f"Numbered question number {i}")
    first = queries.list_questions(session, per_page=2)
    last = queries.list_questions(session, per_page=2, page=3)
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    assert (last.page, len(last.items)) == (3, 1)


def test_pages_do_not_overlap(session, users, ask):
    for i in range(5):
        ask(users["member"], title=f"Numbered question number {i}")
    seen = [q.id for p in (1, 2, 3) for q in queries.list_questions(session, per_page=2, page=p).items]
    assert len(seen) == len(set(seen)) == 5


def test_empty_list_still_has_one_page(session, category):
    page = queries.list_questions(session)
    assert (page.total, page.pages, page.items) == (0, 1, [])


def test_page_below_one_is_treated_as_first(session, three):
    assert queries.list_questions(session, page=0).page == 1


def test_list_questions_query_count_does_not_grow_with_rows(session, users, ask):
    for i in range(12):
        ask(users["member"], title=f"Numbered question number {i}", tags=[f"t{i}", "common"])
    session.expunge_all()
    with count_queries() as statements:
        page = queries.list_questions(session)
        for q in page.items:  # what a list row shows
            _ = (q.author.display_name, q.category.name, [t.name for t in q.tags])
    assert len(page.items) == 12
    assert len(statements) <= 3


# --- question view --------------------------------------------------------------------------------


@pytest.fixture
def thread(session, users, ask, answer):
    """A question by member with four answers: old/low, high score, newer/low, and one to be accepted."""
    question = ask(users["member"])
    old_low = answer(users["other"], question)
    high = answer(users["moderator"], question)
    new_low = answer(users["admin"], question)
    accepted = answer(users["marketer"], question)
    _set(session, old_low, created_at=BASE, score=0)
    _set(session, high, created_at=BASE + timedelta(hours=1), score=3)
    _set(session, new_low, created_at=BASE + timedelta(hours=2), score=0)
    _set(session, accepted, created_at=BASE + timedelta(hours=3), score=-1)
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=accepted.id)
    return question, {"old_low": old_low, "high": high, "new_low": new_low, "accepted": accepted}


def _order(view, answers):
    names = {a.id: k for k, a in answers.items()}
    return [names[a.id] for a in view.answers]


def test_question_view_orders_accepted_then_score_then_oldest(session, users, thread):
    question, answers = thread
    view = queries.question_view(session, question_id=question.id, viewer=None)
    assert _order(view, answers) == ["accepted", "high", "old_low", "new_low"]


def test_question_view_without_accepted_answer_orders_by_score(session, users, thread):
    question, answers = thread
    with transaction(session):
        qa.accept(session, actor=users["member"], question_id=question.id, answer_id=None)
    view = queries.question_view(session, question_id=question.id, viewer=None)
    assert _order(view, answers) == ["high", "old_low", "new_low", "accepted"]


@pytest.mark.parametrize("viewer,visible", [(None, False), ("member", False), ("other", True),
                                            ("moderator", True), ("admin", True), ("marketer", False)])  # fmt: skip
def test_deleted_answer_visibility_per_viewer(session, users, thread, viewer, visible):
    question, answers = thread
    with transaction(session):
        qa.delete(session, actor=users["other"], post_id=answers["old_low"].id)
    view = queries.question_view(session, question_id=question.id, viewer=users[viewer] if viewer else None)
    assert ("old_low" in _order(view, answers)) is visible


def test_question_view_groups_comments_and_hides_deleted_ones(session, users, thread):
    from community.services import comments

    question, answers = thread
    with transaction(session):
        kept = comments.add(session, actor=users["other"], post_id=answers["high"].id, body="This answer worked for me.")
        gone = comments.add(session, actor=users["other"], post_id=question.id, body="A comment to be removed.")
    with transaction(session):
        comments.delete(session, actor=users["other"], comment_id=gone.id)
    view = queries.question_view(session, question_id=question.id, viewer=None)
    assert [c.id for c in view.comments[answers["high"].id]] == [kept.id]
    assert view.comments[question.id] == []


def test_question_view_carries_viewers_votes(session, users, thread):
    from community.services import votes

    question, answers = thread
    with transaction(session):
        votes.cast(session, actor=users["other"], post_id=answers["high"].id, value=-1)
    view = queries.question_view(session, question_id=question.id, viewer=users["other"])
    assert view.my_votes == {answers["high"].id: -1}


def test_question_view_of_an_answer_id_is_not_found(session, thread):
    _, answers = thread
    with pytest.raises(NotFound):
        queries.question_view(session, question_id=answers["high"].id, viewer=None)


def _view_queries(session, question_id, viewer_id):
    session.expunge_all()
    viewer = session.get(User, viewer_id)
    with count_queries() as statements:
        view = queries.question_view(session, question_id=question_id, viewer=viewer)
        for post in [view.question, *view.answers]:
            _ = post.author.display_name
        _ = [t.name for t in view.question.tags], view.question.category.name
        for items in view.comments.values():
            _ = [c.author.display_name for c in items]
    return len(statements)


def test_question_view_query_count_does_not_grow_with_answers_and_comments(session, users, ask, answer):
    from community.services import comments

    small, big = ask(users["member"]), ask(users["member"], title="A much busier question thread")
    for q, n in ((small, 2), (big, 12)):
        for _ in range(n):
            post = answer(users["other"], q)
            with transaction(session):
                comments.add(session, actor=users["moderator"], post_id=post.id, body="A useful comment here.")
                comments.add(session, actor=users["admin"], post_id=post.id, body="Another useful remark.")
    small_id, big_id, viewer_id = small.id, big.id, users["admin"].id
    small_n, big_n = _view_queries(session, small_id, viewer_id), _view_queries(session, big_id, viewer_id)
    assert small_n == big_n <= 10, (small_n, big_n)


# --- revisions ------------------------------------------------------------------------------------


def test_revisions_are_newest_first_with_diffs(session, users, ask):
    question = ask(users["member"], title="Invoice shows the wrong amount", body="Line one stays\nLine two goes away",
                   tags=["billing"])  # fmt: skip
    with transaction(session):
        qa.edit(session, actor=users["member"], post_id=question.id, title="Invoice shows the right amount",
                body="Line one stays\nLine three arrives", tags=["billing", "vat"], reason="Fix")  # fmt: skip
    post, revs = queries.revisions(session, post_id=question.id, viewer=None)
    assert post.id == question.id
    assert [r["revision"].number for r in revs] == [2, 1]
    latest = revs[0]
    assert "<del>wrong</del>" in latest["title_diff"] and "<ins>right</ins>" in latest["title_diff"]
    assert "<ins>vat</ins>" in latest["tags_diff"]
    assert latest["body_diff"] == [("same", "Line one stays"), ("del", "Line two goes away"), ("add", "Line three arrives")]


def test_first_revision_diff_shows_everything_added(session, users, ask):
    question = ask(users["member"], body="Only line of the body here, long enough.")
    _, [first] = queries.revisions(session, post_id=question.id, viewer=None)
    assert first["body_diff"] == [("add", "Only line of the body here, long enough.")]
    assert first["title_diff"].endswith("<ins>Invoice shows the wrong amount</ins>")


def test_first_revision_title_diff_has_no_empty_deletion(session, users, ask):
    question = ask(users["member"])
    _, [first] = queries.revisions(session, post_id=question.id, viewer=None)
    assert first["title_diff"] == "<ins>Invoice shows the wrong amount</ins>"
    assert first["tags_diff"] == "<ins>billing invoices</ins>"


def test_revision_title_diff_escapes_html(session, users, ask):
    question = ask(users["member"], title="Why is <b>this</b> bold in my invoice?")
    _, [first] = queries.revisions(session, post_id=question.id, viewer=None)
    assert "<b>" not in first["title_diff"]
    assert "&lt;b&gt;this&lt;/b&gt;" in first["title_diff"]


def test_revisions_of_deleted_post_are_hidden_from_others(session, users, ask):
    question = ask(users["member"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=question.id)
    with pytest.raises(NotFound):
        queries.revisions(session, post_id=question.id, viewer=users["other"])
    assert queries.revisions(session, post_id=question.id, viewer=users["moderator"])[0].id == question.id


# --- small read models ----------------------------------------------------------------------------


def test_tags_lists_only_used_tags_by_count(session, users, ask):
    ask(users["member"], tags=["billing", "vat"])
    ask(users["member"], tags=["billing"])
    gone = ask(users["member"], tags=["unused"])
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=gone.id)
    page = queries.tags(session)
    assert [(t.name, t.question_count) for t in page.items] == [("billing", 2), ("vat", 1)]


def test_tags_prefix_filter_treats_wildcards_literally(session, users, ask):
    ask(users["member"], tags=["billing", "bank"])
    assert [t.name for t in queries.tags(session, prefix="bi").items] == ["billing"]
    assert queries.tags(session, prefix="%").items == []


def test_get_category_and_tag_unknown_are_not_found(session, category):
    with pytest.raises(NotFound):
        queries.get_category(session, "nope")
    with pytest.raises(NotFound):
        queries.get_tag(session, "nope")


def test_recent_answers_skip_deleted_questions(session, users, ask, answer):
    live, doomed = ask(users["member"]), ask(users["member"], title="This question will be deleted")
    a1 = answer(users["other"], live)
    answer(users["other"], doomed)
    with transaction(session):
        qa.delete(session, actor=users["member"], post_id=doomed.id)
    assert [(a.id, q.id) for a, q in queries.recent_answers(session, user_id=users["other"].id)] == [(a1.id, live.id)]

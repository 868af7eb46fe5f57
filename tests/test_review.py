"""The review list an editor works through."""
import datetime as dt

from kb.loader import load_content
from kb.review import review_list
from tests.conftest import FIXTURE_CONTENT, TODAY


def test_overdue_never_reviewed_and_expired_articles_are_listed():
    corpus = load_content(FIXTURE_CONTENT, today=TODAY)
    items = {(i.article.id, i.reason) for i in review_list(list(corpus.articles.values()), TODAY, within_days=0)}
    assert ("felparkeringsavgift-bestrida", "overdue") in items        # reviewed 2024-01-10, every 365 days
    assert ("forskola-avgift", "expired") in items                      # valid_until 2020-12-31
    assert ("forskola-oppettider", "never reviewed") in items
    assert not any(article_id == "parkeringstillstand-rorelsehindrad" for article_id, _ in items)  # reviewed 2026-03-01


def test_due_soon_depends_on_the_horizon():
    corpus = load_content(FIXTURE_CONTENT, today=TODAY)
    article = corpus.articles["parkeringstillstand-rorelsehindrad"]  # due 2027-03-01
    soon = review_list([article], dt.date(2027, 2, 15), within_days=30)
    assert [(i.reason, i.date) for i in soon] == [("due soon", dt.date(2027, 3, 1))]
    assert review_list([article], dt.date(2027, 1, 1), within_days=30) == []


def test_review_command_groups_by_office_and_owner(runner, kb_cli):
    result = runner.invoke(kb_cli, ["--content-dir", str(FIXTURE_CONTENT), "review", "--office", "parkering"],
                           env={"KB_TODAY": "2026-11-23"})
    assert result.exit_code == 0, result.output
    assert "parkering — Handläggare felparkering" in result.output
    assert "overdue 2025-01-09: felparkeringsavgift-bestrida" in result.output
    assert "forskola" not in result.output

"""Which articles are due for review, per office and owner (what an editor works through)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb.schema import Article


@dataclass
class ReviewItem:
    """One article that needs an editor's look, and why."""

    article: Article
    reason: str          # "overdue" | "due soon" | "never reviewed" | "expires soon" | "expired"
    date: dt.date | None  # the due or expiry date behind the reason


def review_list(articles: list[Article], today: dt.date, within_days: int = 30) -> list[ReviewItem]:
    """Articles overdue or due within `within_days`, never reviewed, or near/after `valid_until`; most urgent first."""
    items: list[ReviewItem] = []
    horizon = today + dt.timedelta(days=within_days)
    for article in articles:
        due = article.review_due()
        if due is None:
            items.append(ReviewItem(article, "never reviewed", None))
        elif due < today:
            items.append(ReviewItem(article, "overdue", due))
        elif due <= horizon:
            items.append(ReviewItem(article, "due soon", due))
        if article.valid_until is not None:
            if article.valid_until < today:
                items.append(ReviewItem(article, "expired", article.valid_until))
            elif article.valid_until <= horizon:
                items.append(ReviewItem(article, "expires soon", article.valid_until))
    # Grouped by office and owner (who acts on it); within a group never-reviewed first, then by date.
    return sorted(items, key=lambda i: (i.article.office, i.article.owner, i.date or dt.date.min, i.article.id))

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.todo_api.models import SearchParams
from functions.todo_api.search import BadCursor, search

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def row(i: int, **extra: Any) -> dict[str, Any]:
    base = {
        "id": f"t{i:03d}",
        "title": f"Task {i}",
        "description": "",
        "priority": ["low", "medium", "high", "urgent"][i % 4],
        "tags": [],
        "status": "open",
        "due_at": (NOW + timedelta(days=i - 5)).isoformat(),
        "created_at": (NOW - timedelta(minutes=i)).isoformat(),
        "updated_at": NOW.isoformat(),
    }
    return base | extra


def params(**kw: Any) -> SearchParams:
    return SearchParams.from_query([(k, str(v)) for k, v in kw.items()])


def test_filters() -> None:
    rows = [
        row(0, title="Buy MILK"),
        row(1, description="milk run", tags=["home", "errand"]),
        row(2, status="completed", tags=["home"]),
        row(3, due_at=None),
    ]

    def ids(p: SearchParams) -> list[str]:
        return [r["id"] for r in search(rows, p, NOW)[0]]

    assert ids(params(q="milk", sort="title")) == ["t000", "t001"]
    assert ids(params(status="completed")) == ["t002"]
    assert ids(params(tag="home,errand")) == ["t001"]
    assert set(ids(params(priority="low,urgent"))) == {"t000", "t003"}
    assert ids(params(overdue="true")) == ["t000", "t001"]  # t002 is done, t003 has no due
    assert ids(
        params(
            due_after=(NOW - timedelta(days=4, hours=1)).isoformat(),
            due_before=(NOW - timedelta(days=3, hours=12)).isoformat(),
        )
    ) == ["t001"]


def test_sort_puts_missing_values_last_both_ways() -> None:
    rows = [row(1), row(2, due_at=None), row(3)]
    asc = [r["id"] for r in search(rows, params(sort="due_at"), NOW)[0]]
    desc = [r["id"] for r in search(rows, params(sort="-due_at"), NOW)[0]]
    assert asc == ["t001", "t003", "t002"]
    assert desc == ["t003", "t001", "t002"]


def test_priority_sorts_by_rank_not_name() -> None:
    rows = [row(i) for i in range(4)]
    got = [r["priority"] for r in search(rows, params(sort="-priority"), NOW)[0]]
    assert got == ["urgent", "high", "medium", "low"]


def test_default_sort_is_newest_first() -> None:
    rows = [row(i) for i in range(5)]
    assert [r["id"] for r in search(rows, params(), NOW)[0]][0] == "t000"


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    limit=st.integers(1, 9),
    sort=st.sampled_from(
        ["title", "-title", "due_at", "-priority,title", "created_at", "-updated_at"]
    ),
    seed=st.integers(0, 1000),
)
def test_paging_visits_every_match_once_in_order(n: int, limit: int, sort: str, seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        row(i, title=rng.choice(["a", "B", "c"]), due_at=rng.choice([None, NOW.isoformat()]))
        for i in range(n)
    ]
    whole, _, total = search(rows, params(sort=sort, limit=500), NOW)
    seen: list[str] = []
    cursor = None
    while True:
        p = params(sort=sort, limit=limit, **({"cursor": cursor} if cursor else {}))
        page, cursor, page_total = search(rows, p, NOW)
        assert page_total == total == n
        seen += [r["id"] for r in page]
        if cursor is None:
            break
    assert seen == [r["id"] for r in whole]


def test_a_cursor_survives_inserts_and_deletes() -> None:
    rows = [row(i) for i in range(10)]
    first, cursor, _ = search(rows, params(sort="title", limit=4), NOW)
    rows = [r for r in rows if r["id"] != "t001"] + [row(99, title="Task 0a")]
    rest, _, _ = search(rows, params(sort="title", limit=50, cursor=cursor), NOW)
    assert not {r["id"] for r in first} & {r["id"] for r in rest}


@pytest.mark.parametrize("cursor", ["!!!", "e30", "WzEsMiwzXQ"])
def test_bad_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        search([row(1)], params(sort="title", cursor=cursor), NOW)

"""GET/POST /api/v1/recurrence/preview over the in-memory fakes."""

from __future__ import annotations

import pytest

from tests.functions.todo_api.test_lists import Users


@pytest.fixture
def users() -> Users:
    u = Users()
    u.add("ann")
    return u


def test_get_with_an_rrule_gives_dates_and_words(users: Users) -> None:
    status, body = users.call(
        "ann",
        "GET",
        "/recurrence/preview",
        params={
            "rule": "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270630",
            "start": "2027-01-31T09:00:00+01:00",
            "tz": "Europe/Berlin",
            "n": "7",
        },
    )
    assert status == 200, body
    assert body["summary"] == "every month on the last day at 09:00, until 30 Jun"
    assert body["occurrences"] == [
        "2027-01-31T09:00:00+01:00",
        "2027-02-28T09:00:00+01:00",
        "2027-03-31T09:00:00+02:00",
        "2027-04-30T09:00:00+02:00",
        "2027-05-31T09:00:00+02:00",
        "2027-06-30T09:00:00+02:00",
    ]
    assert body["ends"] is True


def test_post_with_the_recurrence_object_and_the_users_zone(users: Users) -> None:
    status, body = users.call(
        "ann",
        "POST",
        "/recurrence/preview",
        {
            "recurrence": {"frequency": "weekly", "interval": 2, "count": 3},
            "start": "2026-03-19T08:00:00Z",
        },
    )
    assert status == 200, body
    assert body["timezone"] == "UTC"  # ann registered without a zone
    assert body["occurrences"] == [
        "2026-03-19T08:00:00Z",
        "2026-04-02T08:00:00Z",
        "2026-04-16T08:00:00Z",
    ]
    assert body["summary"] == "every other week on Thursday at 08:00, 3 times"


def test_without_start_the_series_starts_at_the_next_nine_oclock(users: Users) -> None:
    status, body = users.call(
        "ann", "GET", "/recurrence/preview", params={"rule": "FREQ=DAILY", "n": "2"}
    )
    assert status == 200, body
    assert [d[11:] for d in body["occurrences"]] == ["09:00:00Z", "09:00:00Z"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"rule": "FREQ=HOURLY"}, "rule"),
        ({"rule": "FREQ=DAILY", "n": "51"}, "n"),
        ({"rule": "FREQ=DAILY", "tz": "Mars/Base"}, "tz"),
        ({"rule": "FREQ=DAILY", "start": "2026-01-01T09:00:00"}, "start"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    users: Users, params: dict[str, str], field: str
) -> None:
    status, body = users.call("ann", "GET", "/recurrence/preview", params=params)
    assert status == 422, body
    assert field in [d["field"] for d in body["error"]["details"]]


def test_needs_a_signed_in_user(users: Users) -> None:
    resp = users.client.get("/api/v1/recurrence/preview", params={"rule": "FREQ=DAILY"})
    assert resp.status_code == 401

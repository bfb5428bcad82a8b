"""nlu.normalize: day-of-month phrases and weekday-dated phrases in the form the date
grammar reads (the ordinal suffix and the weekday words are shared with when.py)."""

from __future__ import annotations

import re

import pytest

from functions.todo_api.chat.nlu import normalize
from functions.todo_api.chat.when import WEEKDAY_WORD


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("pay rent on the 1st of every month", "pay rent every month on the 1st"),
        ("the 2nd of each month", "every month on the 2nd"),
        ("the third of every month", "every month on the 3rd"),
        ("the 11th of each month", "every month on the 11th"),
        ("the twelfth of the month", "every month on the 12th"),
        ("the 13th of every month", "every month on the 13th"),
        ("the 22nd day of every month", "every month on the 22nd"),
        ("the last day of every month", "every month on the last day"),
    ],
)
def test_a_day_of_every_month_becomes_a_monthly_rule(said: str, read: str) -> None:
    assert normalize(said) == read


@pytest.mark.parametrize("day", ["mon", "tues", "wednesday", "thur", "thursday", "sat"])
def test_a_weekday_before_a_dated_day_is_dropped(day: str) -> None:
    assert re.fullmatch(WEEKDAY_WORD, day)
    assert normalize(f"call on {day} the 3rd") == "call on the 3rd"


def test_a_word_that_is_no_weekday_stays() -> None:
    assert not re.fullmatch(WEEKDAY_WORD, "month")
    assert normalize("call on month the 3rd") == "call on month the 3rd"

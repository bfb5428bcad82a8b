"""The blind chat evaluation (issue 13): both corpora are scored through the real chat
endpoint and must keep the floor written in their headers; and the judge itself is
shown to fail on wrong state, with REST calls standing in for the chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.functions.todo_api.chat.blind import harness
from tests.functions.todo_api.chat.blind.harness import Session

# -- the corpora ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "at_least"), [("blind", 160), ("dev", 120)])
def test_the_corpus_is_well_formed_and_covers_every_class(name: str, at_least: int) -> None:
    corpus = harness.load(harness.corpus_path(name))  # raises on unknown keys or titles
    assert len(corpus.cases) >= at_least
    per_class = {c: sum(k.cls == c for k in corpus.cases) for c in range(1, 10)}
    assert min(per_class.values()) >= 10, per_class
    assert any(len(c.turns) > 1 for c in corpus.cases)  # follow-ups ("it", "that")


def test_the_two_sets_share_no_utterance() -> None:
    said = [
        {t.say.lower() for c in harness.load(harness.corpus_path(n)).cases for t in c.turns}
        for n in harness.SETS
    ]
    assert not said[0] & said[1]


def test_the_blind_set_says_it_stays_untouched() -> None:
    head = harness.corpus_path("blind").read_text()[:600]
    assert "DO NOT EDIT" in head
    assert "no access to the chat's code" in head


@pytest.mark.parametrize("name", harness.SETS)
def test_the_chat_keeps_its_floor(name: str) -> None:
    corpus = harness.load(harness.corpus_path(name))
    score = harness.run_set(name)
    # Shown under PASSES: the accuracy (and for dev every miss; the blind set's cases
    # are never shown, so that nobody tunes the chat to them).
    shown = score.totals() if name == "blind" else score.report()
    print(shown)
    assert score.total == len(corpus.cases)
    assert 100 * score.passed >= corpus.floor * score.total, (
        f"{score.headline()} is below the floor of {corpus.floor}%\n{shown}"
    )


# -- the judge, against known REST operations ----------------------------------------------

SELF = """
meta: {now: "2026-12-02T10:00", timezone: America/New_York, floor: 0}
fixtures:
  f:
    lists: [Groceries]
    tasks:
      - {title: "Call mom", due: "2026-12-06T11:00", tags: [family]}
      - {title: "Buy milk", list: Groceries}
      - {title: "Fix bike", status: completed, completed_at: "2026-12-01T16:00"}
cases:
  - id: create
    class: 5
    setup: f
    say: "x"
    expect:
      created: {title: "Email landlord", due: "2026-12-05T09:00", priority: high,
                tags: [home], recurrence: {frequency: weekly, weekdays: [TH]},
                reminders: 1, remind_at: "2026-12-05T08:45", list: Inbox}
  - id: date_only
    class: 6
    say: "x"
    expect: {created: {title: "Pay", due: "2026-12-03"}}
  - id: complete
    class: 2
    setup: f
    say: "x"
    expect: {completed: ["Call mom"]}
  - id: query
    class: 8
    setup: f
    say: "x"
    expect: {reply_mentions: [mom, ["2", two]], reply_not_mentions: [milk]}
  - id: asks
    class: 3
    setup: f
    say: "x"
    expect: {asks: true}
  - id: update
    class: 7
    setup: f
    say: "x"
    expect: {updated: {"Call mom": {due: "2026-12-06T12:00"}}}
  - id: reopen
    class: 2
    setup: f
    say: "x"
    expect: {reopened: ["Fix bike"]}
  - id: either
    class: 3
    setup: f
    say: "x"
    expect:
      any_of:
        - {deleted: ["Buy milk"]}
        - {completed: ["Buy milk"]}
  - id: my_list
    class: 3
    setup: f
    say: "x"
    expect: {created: {title: "Sunscreen", list: Inbox}}
  - id: two_turns
    class: 3
    turns:
      - {say: "first", expect: {created: {title: "Call the vet"}}}
      - "second"
    expect: {unchanged: true}
"""

Send = Callable[[Session, str], tuple[int, str]]


def _id(s: Session, title: str) -> str:
    return next(i for i, t in s.tasks().items() if t["title"] == title)


def _create(**fields: Any) -> Send:
    def send(s: Session, _: str) -> tuple[int, str]:
        body = dict(fields)
        if "list" in body:
            lists = {name: lid for lid, name in s.lists().items()}
            body["list_id"] = lists[body.pop("list")]
        s.ok("POST", "/tasks", body)
        return 200, "Added."

    return send


def _op(method: str, title: str, suffix: str = "", body: Any = None, reply: str = "Done.") -> Send:
    def send(s: Session, _: str) -> tuple[int, str]:
        s.ok(method, f"/tasks/{_id(s, title)}{suffix}", body)
        return 200, reply

    return send


def _both(*sends: Send) -> Send:
    def send(s: Session, msg: str) -> tuple[int, str]:
        reply = ""
        for one in sends:
            _, reply = one(s, msg)
        return 200, reply

    return send


def _new_list(name: str) -> Send:
    def send(s: Session, _: str) -> tuple[int, str]:
        s.ok("POST", "/lists", {"name": name})
        return 200, "ok"

    return send


def _reply(text: str) -> Send:
    return lambda s, _: (200, text)


_EMAIL = {
    "title": "email landlord.",
    "due_at": "2026-12-05T09:00:00-05:00",
    "priority": "high",
    "tags": ["home"],
    "recurrence": {"frequency": "weekly", "weekdays": ["TH"]},
    "reminders": [{"before": "PT15M"}],
}


def _vet(s: Session, msg: str) -> tuple[int, str]:
    if msg == "first":
        s.ok("POST", "/tasks", {"title": "Call the vet"})
    else:
        s.ok("DELETE", f"/tasks/{_id(s, 'Call the vet')}")
    return 200, "ok"


RIGHT: dict[str, list[Send]] = {
    "create": [
        _create(**_EMAIL),
        _create(**{**_EMAIL, "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=TH"}}),
        _create(**{**_EMAIL, "reminders": [{"at": "2026-12-05T13:45:00Z"}]}),
    ],
    "date_only": [_create(title="Pay", due_at="2026-12-03T23:30:00-05:00")],
    "complete": [_op("POST", "Call mom", "/complete")],
    "query": [_reply("You have two: Call mom (Sun).")],
    "asks": [_reply("Which one do you mean?")],
    "update": [_op("PATCH", "Call mom", body={"due_at": "2026-12-06T12:00:00-05:00"})],
    "reopen": [_op("POST", "Fix bike", "/reopen")],
    "either": [_op("DELETE", "Buy milk"), _op("POST", "Buy milk", "/complete")],
    "my_list": [_create(title="sunscreen")],
    "two_turns": [_vet],
}

WRONG: dict[str, list[tuple[str, Send]]] = {
    "create": [
        ("attribute words in the title", _create(**{**_EMAIL, "title": "Email landlord, high"})),
        ("due an hour late", _create(**{**_EMAIL, "due_at": "2026-12-05T10:00:00-05:00"})),
        ("due in UTC not local", _create(**{**_EMAIL, "due_at": "2026-12-05T09:00:00Z"})),
        ("priority", _create(**{**_EMAIL, "priority": "medium"})),
        ("an extra tag", _create(**{**_EMAIL, "tags": ["home", "work"]})),
        ("no repeat", _create(**{k: v for k, v in _EMAIL.items() if k != "recurrence"})),
        (
            "every other week",
            _create(**{**_EMAIL, "recurrence": {"frequency": "weekly", "interval": 2}}),
        ),
        ("no reminder", _create(**{**_EMAIL, "reminders": []})),
        ("reminder an hour before", _create(**{**_EMAIL, "reminders": [{"before": "PT1H"}]})),
        ("wrong list", _create(**{**_EMAIL, "list": "Groceries"})),
        ("created twice", _both(_create(**_EMAIL), _create(**_EMAIL))),
        ("also completed a task", _both(_create(**_EMAIL), _op("POST", "Call mom", "/complete"))),
    ],
    "date_only": [
        ("next day in the user's zone", _create(title="Pay", due_at="2026-12-04T00:30:00-05:00")),
        ("no due date", _create(title="Pay")),
    ],
    "complete": [
        ("another task", _op("POST", "Buy milk", "/complete")),
        ("deleted instead", _op("DELETE", "Call mom")),
        ("nothing", _reply("Done.")),
        (
            "completed and renamed",
            _both(
                _op("POST", "Call mom", "/complete"), _op("PATCH", "Call mom", body={"title": "x"})
            ),
        ),
        (
            "completed and a garbage task",
            _both(_op("POST", "Call mom", "/complete"), _create(title="cross off call mom")),
        ),
    ],
    "query": [
        ("title missing", _reply("You have two tasks.")),
        ("count missing (12 is not 2)", _reply("Call mom, and 12 others.")),
        ("mentions the wrong task", _reply("Two: Call mom, Buy milk.")),
        ("a question that writes", _both(_create(title="what do I have?"), _reply("2: Call mom"))),
        (
            "a question that edits",
            _both(_op("PATCH", "Call mom", body={"tags": []}), _reply("2 mom")),
        ),
    ],
    "asks": [
        ("no question", _reply("Done.")),
        ("asks but acts", _op("POST", "Call mom", "/complete", reply="Which one?")),
    ],
    "update": [
        ("wrong time", _op("PATCH", "Call mom", body={"due_at": "2026-12-06T12:00:00Z"})),
        (
            "also changed priority",
            _op(
                "PATCH", "Call mom", body={"due_at": "2026-12-06T12:00:00-05:00", "priority": "low"}
            ),
        ),
        ("created instead", _create(title="Call mom", due_at="2026-12-06T12:00:00-05:00")),
    ],
    "reopen": [("nothing", _reply("Reopened.")), ("deleted", _op("DELETE", "Fix bike"))],
    "either": [("renamed", _op("PATCH", "Buy milk", body={"title": "Buy oat milk"}))],
    "my_list": [
        ("a list named 'list'", _both(_new_list("list"), _create(title="sunscreen", list="list"))),
        ("a new list beside it", _both(_new_list("list"), _create(title="sunscreen"))),
        ("in the Groceries list", _create(title="sunscreen", list="Groceries")),
    ],
    "two_turns": [
        ("nothing on the first turn", _reply("ok")),
        ("kept on the second turn", lambda s, m: _vet(s, m) if m == "first" else (200, "ok")),
    ],
}


def _self_case(case_id: str) -> tuple[harness.Case, harness.Corpus]:
    corpus = harness.parse(SELF, "self")
    return next(c for c in corpus.cases if c.id == case_id), corpus


@pytest.mark.parametrize(
    ("case_id", "n"), [(cid, n) for cid, sends in RIGHT.items() for n in range(len(sends))]
)
def test_the_judge_passes_the_right_state(case_id: str, n: int) -> None:
    case, corpus = _self_case(case_id)
    outcome = harness.run_case(case, corpus, RIGHT[case_id][n])
    assert outcome.passed, outcome.reason


@pytest.mark.parametrize(
    ("case_id", "label"), [(cid, label) for cid, wrongs in WRONG.items() for label, _ in wrongs]
)
def test_the_judge_fails_wrong_state(case_id: str, label: str) -> None:
    case, corpus = _self_case(case_id)
    send = dict(WRONG[case_id])[label]
    outcome = harness.run_case(case, corpus, send)
    assert not outcome.passed
    assert outcome.reason


def test_every_self_case_is_exercised_both_ways() -> None:
    ids = {c.id for c in harness.parse(SELF, "self").cases}
    assert ids == set(RIGHT) == set(WRONG) - {k for k, v in WRONG.items() if not v}
    assert all(WRONG[i] for i in ids)


def test_a_crash_in_the_chat_is_a_failed_case() -> None:
    case, corpus = _self_case("asks")

    def bad_request(s: Session, _: str) -> tuple[int, str]:
        status, body = s.call("POST", "/chat", {})
        return status, str(body)

    outcome = harness.run_case(case, corpus, bad_request)
    assert not outcome.passed
    assert "HTTP 422" in outcome.reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("cases: [{id: a, class: 1, say: x, expect: {creatd: {}}}]", "expect keys"),
        ("cases: [{id: a, class: 1, say: x, expect: {completed: [Nope]}}]", "no setup task"),
        ("cases: [{id: a, class: 10, say: x}]", "class 10"),
        ("cases: [{id: a, class: 1, say: x, expect: {created: {titel: y}}}]", "field keys"),
        ("cases: [{id: a, class: 1, say: x}, {id: a, class: 1, say: y}]", "duplicate"),
        ("cases: [{id: a, class: 8, say: find milk, expect: {reply_mentions: [Milk]}}]", "itself"),
    ],
)
def test_a_mistake_in_a_corpus_is_refused(text: str, problem: str) -> None:
    head = 'meta: {now: "2026-12-02T10:00", timezone: UTC, floor: 0}\n'
    with pytest.raises(harness.CorpusError, match=problem):
        harness.parse(head + text, "bad")

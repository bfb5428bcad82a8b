"""The end-to-end regression set (regression.yaml): dev.yaml cases the chat failed at first,
once fixed, and cases written from issue 13's classes; run through the real chat endpoint
by the blind harness. Prints the accuracy and every miss; it must keep its floor."""

from __future__ import annotations

from pathlib import Path

from tests.functions.todo_api.chat.blind import harness

REGRESSION = Path(__file__).parent / "regression.yaml"


def test_the_regression_set_keeps_its_floor() -> None:
    corpus = harness.load(REGRESSION)
    score = harness.Score("regression", [harness.run_case(c, corpus) for c in corpus.cases])
    print(score.report())
    assert score.total >= 300
    assert 100 * score.passed >= corpus.floor * score.total, score.report()

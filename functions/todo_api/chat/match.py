"""Which of the person's tasks some words mean: "the pizza one", "calling mom", "the lisbon
thing", "fixing the bike", a typo. Pure: tasks in, ranked tasks out.

Words are reduced to stems ("groceries" → "grocery", "calling" → "call", "sent" → "send")
and the words that name nothing ("the", "task", "one", "thing") are dropped. A task scores
by how many of the query's stems its title has (a word that is a prefix of a title word,
or a near spelling, counts a little less), then its tags, then (for searches) its
description. Only the best-scoring tasks are returned: one is the task meant; several are
a question to ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from shared.events import TaskSnapshot

# Words that never tell one task from another.
STOP = frozenset(
    """a an the my our your his her their this that these those it its it's them they
    task tasks todo todos to-do item items one ones thing things stuff entry reminder
    about for to of on in at with and or from by into onto off up out over
    i i'm i've me we us you is are was were be been being am do does did done have has had
    please pls just already now again yet still too also really actually finally
    so ok okay oh well all any some anything something everything list
    called named titled mentions mentioning says saying contains containing""".split()  # noqa: SIM905 - a word list reads best as text
)
_IRREGULAR = {
    "paid": "pay", "sent": "send", "bought": "buy", "made": "make", "wrote": "write",
    "written": "write", "took": "take", "taken": "take", "got": "get", "gotten": "get",
    "went": "go", "gone": "go", "ran": "run", "met": "meet", "spoke": "speak",
    "spoken": "speak", "fed": "feed", "left": "leave", "kept": "keep", "brought": "bring",
    "found": "find", "gave": "give", "given": "give", "sold": "sell", "told": "tell",
    "caught": "catch", "built": "build", "ate": "eat", "eaten": "eat", "drove": "drive",
    "driven": "drive", "rode": "ride", "swam": "swim", "hung": "hang", "put": "put",
    "read": "read", "cut": "cut", "set": "set", "began": "begin", "begun": "begin",
    "chose": "choose", "chosen": "choose", "forgot": "forget", "grew": "grow",
    "knew": "know", "taught": "teach", "thought": "think", "threw": "throw",
    "understood": "understand", "woke": "wake", "won": "win", "did": "do", "done": "do",
    "children": "child", "men": "man", "women": "woman", "feet": "foot", "teeth": "tooth",
    "mum": "mom", "mommy": "mom", "mother": "mom", "dad": "dad", "father": "dad",
    "electric": "electricity", "docs": "doc", "document": "doc", "documents": "doc",
    "e-mail": "email", "mail": "email", "emailed": "email", "emailing": "email",
    "appt": "appointment", "meds": "medication", "doctor": "doctor", "doc's": "doc",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9][a-z0-9'’-]*", re.I)


def stem(word: str) -> str:
    w = word.lower().replace("’", "'").strip("'-")
    w = re.sub(r"'s$", "", w)
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and (
        (w.endswith("ed") and not w.endswith("eed")) or re.search(r"(?:s|x|z|ch|sh)es$", w)
    ):
        w = w[:-2]  # "-ed", or "-es" after a sibilant
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # "stopp" → "stop"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "slide" and "slid(ing)" meet at "slid"
    return w


def stems(text: str) -> list[str]:
    """The stems of the words in `text` that can tell tasks apart, in order, once each."""
    out = [stem(w) for w in _WORD.findall(text) if w.lower() not in STOP]
    return list(dict.fromkeys(s for s in out if s and s not in STOP))


def _word_score(query: str, words: Iterable[str]) -> float:
    best = 0.0
    for w in words:
        if w == query:
            return 1.0
        if len(query) >= 3 and len(w) >= 3 and (w.startswith(query) or query.startswith(w)):
            best = max(best, 0.85)
        elif len(query) >= 5 and len(w) >= 5:
            ratio = fuzz.ratio(query, w)
            if ratio >= 80:
                best = max(best, 0.7 * ratio / 100)
    return best


# Verbs that begin many titles ("Call mom", "Pick up dry cleaning"): alone they tell little,
# so "picked up the kids" does not mean "Pick up dry cleaning".
COMMON_VERBS = frozenset(
    stem(w)
    for w in """call pick buy get make do take send pay book fix clean check go see meet email
    write read order finish start set put bring return renew update prepare plan review
    schedule submit file sign visit water walk feed wash print drop give have find""".split()  # noqa: SIM905 - as above
)


@dataclass(frozen=True)
class Scored:
    task: TaskSnapshot
    score: float  # how much of the query the task covers, 0..1
    coverage: float  # how much of the title the query covers, 0..1 (breaks ties)


def score(
    query: list[str], task: TaskSnapshot, *, description: bool = False, strict: bool = False
) -> Scored:
    title = stems(task.title)
    tags = [stem(t) for t in task.tags]
    desc = stems(task.description or "") if description else []
    if not query:
        return Scored(task, 0.0, 0.0)
    total = 0.0
    hit_title: set[str] = set()
    telling = False  # a word other than a common verb matched
    only_verbs = all(q in COMMON_VERBS for q in query)
    for q in query:
        s = _word_score(q, title)
        if s:
            hit_title.update(w for w in title if w == q or w.startswith(q) or q.startswith(w))
        s = max(s, 0.6 * _word_score(q, tags), 0.6 * _word_score(q, desc))
        total += s
        telling = telling or (s > 0 and (only_verbs or q not in COMMON_VERBS))
    coverage = len(hit_title) / len(title) if title else 0.0
    return Scored(task, total / len(query) if telling or not strict else 0.0, coverage)


def rank(
    words: str,
    tasks: Iterable[TaskSnapshot],
    *,
    description: bool = False,
    threshold: float = 0.5,
    strict: bool = False,
) -> list[TaskSnapshot]:
    """The tasks `words` most likely mean: all those sharing the best score (ties are a
    question for the person), or none when nothing comes close enough. `strict` (before a
    write): a common verb alone is no match."""
    query = stems(words)
    if not query:
        return []
    phrase = " ".join(_WORD.findall(words.lower()))
    scored = []
    for task in tasks:
        s = score(query, task, description=description, strict=strict)
        if phrase and phrase == " ".join(_WORD.findall(task.title.lower())):
            s = Scored(task, 2.0, 1.0)  # the exact title
        scored.append(s)
    scored = [s for s in scored if s.score >= threshold]
    if not scored:
        return []
    top = max(s.score for s in scored)
    best = [s for s in scored if s.score >= top - 0.01]
    cover = max(s.coverage for s in best)
    # "water plants": "Water the plants" (all of it) over "Water plants in the office".
    if cover > 0 and sum(s.coverage >= cover - 0.01 for s in best) < len(best):
        best = [s for s in best if s.coverage >= cover - 0.01]
    return [s.task for s in best]

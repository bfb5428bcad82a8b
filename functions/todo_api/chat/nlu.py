"""The first reading of a message, before the command grammar (understand.py): what is
chatter and what is the request, whether it is a question, and the everyday statements
that change a task without a command verb ("the pizza's ordered", "call mom is now on
sunday", "the lisbon flights are more important now"). Pure, like understand.py.

The rules are about sentence structure, not about particular tasks: a question (a
wh-word, an auxiliary verb first, or a trailing "?") is answered and never writes; a
statement whose predicate says something is done completes the task its subject names;
politeness and chatter around a request are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.todo_api.chat.when import WEEKDAY_WORD

# --- clock words and relative days, rewritten to what when.py reads ---------------------

_NUMBER = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-five": 45, "fourty": 40, "fifty": 50, "sixty": 60,
}  # fmt: skip
_HOURS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2})"
_MINUTES = r"(?:five|ten|quarter|a quarter|twenty|twenty[- ]five|half|\d{1,2})"
_PAST_TO = re.compile(
    rf"\b(?P<at>at\s+)?(?P<m>{_MINUTES})\s+(?:minutes\s+)?(?P<dir>past|after|to|til|till)\s+"
    rf"(?P<h>{_HOURS})(?:\s*o'?clock)?\b(?:\s*(?P<ap>am|pm|a\.m\.|p\.m\.))?",
    re.I,
)
_OCLOCK = re.compile(rf"\b(?P<at>at\s+)?(?P<h>{_HOURS})\s*o'?clock\b", re.I)
_FROM_NOW = re.compile(
    r"\b(?P<n>an?|one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+"
    r"(?P<u>days?|weeks?|months?|years?)\s+from\s+(?:today|now)\b",
    re.I,
)
_NUM_IN = re.compile(
    r"\b(?P<w>in|every)\s+(?P<n>four|five|six|seven|eight|nine|ten|eleven|twelve)\b", re.I
)
_SHORT = {
    "tmrw": "tomorrow", "tmr": "tomorrow", "tmw": "tomorrow", "tmrow": "tomorrow",
    "2morrow": "tomorrow", "tomorow": "tomorrow", "tommorow": "tomorrow", "tommorrow": "tomorrow",
    "tonite": "tonight", "2nite": "tonight", "2day": "today", "tdy": "today", "nxt": "next",
    "wk": "week", "wknd": "weekend", "mins": "minutes", "hrs": "hours", "asap": "asap",
}  # fmt: skip
_SHORTHAND = re.compile(r"\b(?:" + "|".join(k for k in _SHORT if k != "asap") + r")\b", re.I)
# Phrases said in more ways than the date grammar reads, in the form it reads.
_REWRITES = [
    (re.compile(r"\bin\s+half\s+an\s+hour\b", re.I), "in 30 minutes"),
    (re.compile(r"\bin\s+(?:an|1|one)\s+hour\s+and\s+a\s+half\b|\bin\s+1\.5\s+hours\b", re.I),
     "in 90 minutes"),
    (re.compile(r"\bin\s+a\s+couple\s+(?:of\s+)?(days|hours|weeks)\b", re.I), r"in 2 \1"),
    (re.compile(r"\bin\s+a\s+few\s+(days|hours|weeks)\b", re.I), r"in 3 \1"),
    (re.compile(r"\bthis\s+coming\b", re.I), "this"),
    (re.compile(r"\bthe\s+end\s+of\s+(?:every|each)\s+month\b|\bend\s+of\s+(?:every|each)\s+month\b",
                re.I), "every month on the last day"),
    (re.compile(r"\b(?:the\s+)?end\s+of\s+(?:the\s+)?(day|week|month)\b", re.I), r"end of the \1"),
    (re.compile(rf"\b(?:on\s+)?{WEEKDAY_WORD}\s+(?:the\s+)?(\d{{1,2}}(?:st|nd|rd|th))\b", re.I),
     r"on the \1"),
    (re.compile(r"\bbi-?weekly\b", re.I), "every 2 weeks"),
    (re.compile(r"\bbi-?monthly\b", re.I), "every 2 months"),
    (re.compile(r"\b(?:every|each)\s+quarter\b|\bonce\s+a\s+quarter\b", re.I), "every 3 months"),
    (re.compile(r"\btwice\s+a\s+month\b", re.I), "every 2 weeks"),
    (re.compile(r"\bonce\s+a\s+(day|week|month|year)\b", re.I), r"every \1"),
    (re.compile(r"\bevery\s+(\d+)(?:st|nd|rd|th)\s+", re.I), r"every \1 "),
    (re.compile(r"\bevery\s+third\s+", re.I), "every 3 "),
    (re.compile(r"(?<!every )(?<!each )\b(?:on\s+)?(weekdays|weekends)\b", re.I), r"every \1"),
]  # fmt: skip
_FORTNIGHT = re.compile(r"\bin\s+a\s+fortnight\b", re.I)
_FORTNIGHT_FROM = re.compile(r"\b(?:a|one)\s+fortnight\s+(?=from\b|after\b)", re.I)
_ORDINAL_DAY = re.compile(
    r"\b(?P<on>on\s+)?the\s+(?P<w>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
    r"|tenth|eleventh|twelfth|fifteenth|twentieth|thirtieth)\b(?=\s+of\b)",
    re.I,
)
# "at 2 in the afternoon", "8:15 in the morning", "at 11 at night"
_IN_THE = re.compile(
    r"\b(\d{1,2}(?::\d{2})?)\s+(in the morning|in the afternoon|in the evening|at night)\b", re.I
)
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "fifteenth": 15,
    "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_DAY_OF_EVERY_MONTH = re.compile(
    r"\b(?:on\s+)?the\s+(?P<d>\d{1,2}(?:st|nd|rd|th)?|"
    + "|".join(_ORDINAL_WORDS)
    + r"|last(?: day)?)\s+(?:day\s+)?of\s+(?:every|each|the)\s+month\b",
    re.I,
)


def _day_of_month(m: re.Match[str]) -> str:
    day = m.group("d").lower()
    if day.startswith("last"):
        return "every month on the last day"
    n = _ORDINAL_WORDS.get(day) or int(re.sub(r"\D", "", day))
    return f"every month on the {_ordinal(n)}"


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10 if n not in (11, 12, 13) else 0, 'th') }"


def _number(word: str) -> int:
    word = word.lower().replace(" ", "-")
    if word.isdigit():
        return int(word)
    if word in ("a", "an"):
        return 1
    if word in ("quarter", "a-quarter"):
        return 15
    if word == "half":
        return 30
    if word == "twenty-five":
        return 25
    return _NUMBER[word]


def _clock(m: re.Match[str]) -> str:
    minutes, hour = _number(m.group("m")), _number(m.group("h"))
    if m.group("dir").lower() in ("to", "til", "till"):
        hour, minutes = (hour - 1) % 12 or 12, 60 - minutes
    if hour > 23 or minutes > 59:
        return m.group(0)
    return f"at {hour}:{minutes:02d}{(m.group('ap') or '').replace('.', '')}"


def normalize(text: str) -> str:
    """Clock words ("quarter to 8", "half past five") and "a week from today" in the forms
    the date grammar reads ("at 7:45", "in 1 week")."""
    text = _SHORTHAND.sub(lambda m: _SHORT[m.group(0).lower()], text)
    text = _PAST_TO.sub(_clock, text)
    text = _OCLOCK.sub(lambda m: f"at {_number(m.group('h'))}:00", text)
    text = _FORTNIGHT_FROM.sub("2 weeks ", text)
    text = _FROM_NOW.sub(lambda m: f"in {_number(m.group('n'))} {m.group('u')}", text)
    text = _FORTNIGHT.sub("in 2 weeks", text)
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    text = _IN_THE.sub(
        lambda m: m.group(1) + ("am" if m.group(2).lower() == "in the morning" else "pm"), text
    )
    text = _DAY_OF_EVERY_MONTH.sub(_day_of_month, text)
    # "on the first of next month": the date grammar reads "the 1st of".
    text = _ORDINAL_DAY.sub(
        lambda m: f"{m.group('on') or ''}the {_ordinal(_ORDINAL_WORDS[m.group('w').lower()])}", text
    )
    text = _NUM_IN.sub(lambda m: f"{m.group('w')} {_number(m.group('n'))}", text)
    return text


# --- politeness and chatter -----------------------------------------------------------------

_LEAD = re.compile(
    r"^(?:(?:(?:hey+y*|hi+|hello+|yo+|morning|good morning|good evening|good afternoon|evening"
    r"|hiya|heya"
    r"|howdy|sup|hey hey|greetings|dear assistant)"
    r"(?:\s+(?:there|assistant|bot|buddy|mate|friend|you|taskwave))?|ok(?:ay)?|so|well|oh|um+"
    r"|uh+|hmm+|great|cool|sorry to bother you|sorry for the bother|sorry to ask|but"
    r"|if it'?s not too much (?:trouble|bother)|if it isn'?t too much (?:trouble|bother)"
    r"|sorry to (?:be a pain|bug you|bother you|ask|trouble you)(?:\s*,?\s*but)?"
    r"|(?:listen|look|oi)(?=\s*[,!:])"
    r"|so yeah|okey dokey|right then|ok then|okay then|anyhow|ahem"
    r"|(?:a\s+)?quick favou?r|(?:can you\s+)?do me a favou?r(?:\s+and)?|favou?r to ask"
    r"|be a (?:darling|dear|love|star|sweetheart|pal|champ|gem)(?:\s+and)?|you there|are you there"
    r"|if you (?:can|could|don't mind)|when you (?:can|get a chance)"
    r"|perfect|awesome|nice|thanks(?: a lot| so much)?|thank you(?: so much)?|thx|ty|alright"
    r"|all right|right|also|and|one more(?: thing)?|another(?: one)?|quick one|next"
    r"|please|pls|plz|kindly|sorry|excuse me|wait|actually|oops|btw|by the way|anyway|anyways"
    r"|ugh|argh|phew|sigh|lol|haha|hm+|ah|ahh|sure|yes|yeah|yep|no worries|quick question"
    r"|quick request|one thing|real quick)"
    r"(?:\s*[,!.:;-]+\s*|\s+))+",
    re.I,
)
_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will|won't|wouldn't)\s+(?:you|u|ya)\s+(?:please\s+|pls\s+|kindly\s+"
    r"|just\s+|quickly\s+|possibly\s+|maybe\s+|perhaps\s+|also\s+)*"
    r"(?:be so kind as to\s+|be a dear and\s+)?"
    r"|i'?d (?:love|like|appreciate) it if (?:you|u) (?:could|would|can)\s+"
    r"|it would be (?:great|nice|awesome|helpful|lovely) if (?:you|u) (?:could|would)\s+"
    r"|i (?:was|am) hoping (?:you|u) (?:could|can|would)\s+|you can\s+|you could\s+"
    r"|feel free to\s+|now\s+|(?:and\s+)?then\s+"
    r"|(?:i\s+(?:want|need|would like|'d like)\s+to|i\s+wanna|let'?s|let\s+me|(?:can|could)\s+we"
    r"|(?:can|could)\s+i)\s+(?=(?:do|move|make|change|push|put|set|reschedule|rename|delete"
    r"|remove|mark|complete|update|tag|untag|add|create|cancel|drop|reopen|finish|postpone"
    r"|shift|bump|switch|retitle|clear)\b)"
    r"|would you mind\s+|do you mind\s+|mind\s+|i'd like you to\s+|i would like you to\s+"
    r"|i want you to\s+|i need you to\s+|go ahead and\s+|please\s+|pls\s+|plz\s+|kindly\s+"
    r"|just\s+|(?:can|could|may) i (?:ask you to|get you to)\s+|help me\s+(?=add|create|make)"
    r"|i (?:was|am) (?:wondering|hoping) (?:if|whether) (?:you|u) (?:could|can|would|might)\s+"
    r"|i wonder if (?:you|u) (?:could|can|would)\s+|do you think (?:you|u) (?:could|can)\s+"
    r"|is it possible (?:for you )?to\s+|(?:you )?(?:can|could) you\s+"
    r"|(?:would|will) it be (?:possible|ok|okay|alright) (?:for you )?to\s+"
    r"|i'?d (?:really |so |very much )?(?:love|like|appreciate) it if (?:you|u)"
    r" (?:could|would|can)\s+"
    r"|(?:could|can|may) i (?:trouble|bother) you (?:to|for)\s+|(?:i|we) need you to\s+"
    r"|(?:could|would|can) you (?:be so kind|kindly) (?:as to\s+|and\s+)?"
    r"|(?:it'?d|it would) be (?:great|nice|awesome|helpful|lovely|amazing) if (?:you|u)"
    r" (?:could|would)\s+"
    r")+",
    re.I,
)
_TAIL = re.compile(
    r"(?:(?:[\s,]+|\s+-\s+|\s*[–—]\s*)(?:please and thank you|please|pls|plz"
    r"|thanks(?: a (?:lot|bunch|million|ton)| so much| very much)?"
    r"|thank you(?: so much| very much)?"
    r"|thx|ty|tysm|much appreciated|appreciate it|i appreciate it|you're a star|you rock|ta"
    r"|for me|if you can|if you could|if you don't mind|if possible|would you|could you|can you"
    r"|ok|okay|yay|woo+|finally|at last|phew|lol|haha|cheers|now|already|i guess|i think"
    r"|when you get a chance|when you can|real quick|quickly)|\s*[!.]+|\s*:\)|\s*:-\)|\s*😊"
    r"|\s*🙏)+\s*$",
    re.I,
)
_GERUND_VERBS = {
    "adding": "add", "creating": "create", "making": "make", "putting": "put",
    "deleting": "delete", "removing": "remove", "marking": "mark", "moving": "move",
    "changing": "change", "setting": "set", "showing": "show", "listing": "list",
    "renaming": "rename", "scheduling": "schedule", "reminding": "remind",
}  # fmt: skip


_GET_ADDED = re.compile(
    r"^(?:can|could|may)\s+(?:i|we|you)\s+(?:please\s+)?(?:get|have|put)\s+(?P<x>.+?)\s+"
    r"(?:added|put|written down|on)\b(?P<rest>.*)$",
    re.I,
)


@dataclass
class Cleaned:
    text: str
    polite: bool  # a request wrapper was dropped: "can you add x?" is no question


_EMOTICON = re.compile(r"(?:^|(?<=\s))(?:[:;=]-?[)(DPp]|<3|\^\^|xD)(?=\s|$|[,.!])")


def strip_polite(text: str) -> Cleaned:
    text = _EMOTICON.sub(" ", text).strip()
    polite = False
    for _ in range(3):
        before = text
        if (m := _LEAD.match(text)) and m.end() < len(text):
            text = text[m.end() :]
        if (m := _REQUEST.match(text)) and m.end() < len(text):
            polite = polite or bool(
                re.search(r"\b(?:you|u|ya|we|i)\b|would|mind|possible|let", m.group(0), re.I)
            )
            text = text[m.end() :]
        if text == before:
            break
    # "can I get x added to my list?": a request to add x.
    if m := _GET_ADDED.match(text):
        text, polite = f"add {m.group('x')}{m.group('rest')}", True
    first, _, rest = text.partition(" ")
    if first.lower() in _GERUND_VERBS and rest:  # "would you mind adding x"
        text = f"{_GERUND_VERBS[first.lower()]} {rest}"
    question = text.rstrip().endswith("?")
    body = text.rstrip().rstrip("?").rstrip()
    tail = _TAIL.search(body)
    if tail and tail.start() > 0:
        if re.search(r"\b(?:would|could|can|will) you\b|\bplease\b|\bpls\b", tail.group(0), re.I):
            polite = True  # "put x on my list, would you?"
        text = body[: tail.start()] + ("?" if question else "")
    if polite:
        text = text.rstrip().rstrip("?")  # a request said as a question is a request
    return Cleaned(text.strip(), polite)


def sentences(text: str) -> list[str]:
    """'I'm exhausted. can you add x' → two sentences; quotes are kept whole."""
    parts = re.split(r"(?<=[.!?])\s+(?=\S)", text)
    return [p.strip() for p in parts if p.strip()]


# --- questions ------------------------------------------------------------------------------

_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|which|when|when's|whens|where|where's|who|who's|whose|why|how"
    r"|is|isn't|are|aren't|am|was|wasn't|were|do\s+(?:i|you|we|my|any)|does|doesn't|did"
    r"|didn't|have\s+(?:i|we|you)|haven't|has|hasn't|had\s+i|can\s+(?:i|we)|could\s+(?:i|we)"
    r"|should|shall\s+(?:i|we)|will\s+(?:i|we|there)|would\s+(?:i|we)|any|anything|got any"
    r"|remind me what|tell me|do you know|i wonder|wonder)\b",
    re.I,
)


def is_question(text: str, polite: bool) -> bool:
    stripped = text.strip()
    if re.match(r"^(?:how about|what about)\b", stripped, re.I) and not stripped.endswith("?"):
        return True
    if _QUESTION_START.match(stripped):
        return True
    return stripped.endswith("?") and not polite


# --- statements that change a task ----------------------------------------------------------

_DONE_WORDS = (
    r"done|finished|complete[d]?|taken care of|handled|sorted(?:\s+out)?|dealt with|paid"
    r"|sent|ordered|booked|submitted|bought|called|fixed|cleaned|returned|emailed|mailed"
    r"|renewed|picked up|dropped off|posted|filed|signed|scheduled|made|written|read|cancel+ed"
    r"|over|out of the way|ticked off|checked off|crossed off|knocked out|wrapped up|in"
    r"|ready|all set|good to go|squared away|in the bag|taken|watered|washed|fed|done and dusted"
    r"|went out|gone out|went through|happened|attended|went|over and done(?: with)?"
)
_COPULA = r"(?:is|are|'s|’s|was|were|has been|have been|got|been|be)"
_PASSIVE_DONE = re.compile(
    rf"^(?P<x>.+?)(?P<sep>\s*{_COPULA}\s+|\s*[:,–—]\s*|\s+-\s+|\s+)(?:all\s+|now\s+|finally\s+"
    rf"|already\s+|just\s+)?(?P<v>{_DONE_WORDS}|got it|check(?:ed)?|[a-z]{{3,}}ed|✓|✔|✅|☑)"
    r"(?:\s+(?:already|now|too|finally|at last|with|today|yesterday|earlier|this morning))?\W*$",
    re.I,
)
_NOT_DONE = re.compile(
    rf"^(?P<x>.+?)\s+(?:is(?:n't| not)|are(?:n't| not)|was(?:n't| not)|were(?:n't| not))\s+"
    rf"(?:actually\s+|really\s+)?(?:{_DONE_WORDS})(?:\s+(?:yet|after all|anymore))?\W*$"
    r"|^(?:i'?m\s+|i am\s+|we'?re\s+)?not\s+(?:really\s+|actually\s+)?(?:done|finished|through)"
    r"\s+with\s+(?P<v>.+?)(?:\s+(?:yet|after all|actually|at all))?\W*$"
    r"|^(?:actually\s+|wait\s*,?\s*|oh\s*,?\s*)?(?P<u>(?:the|my)\s+.+?)\s+still\s+(?:needs?|requires"
    r"|has to be|needs to be)\s+(?:some\s+|more\s+)?(?:work|doing|\w+ing|done|finished|\w+ed)\W*$"
    r"|^(?P<y>.+?)\s+(?:needs?(?: to be)?|has to be|have to be|must be|should be)\s+(?:\w+ing|done"
    r"|redone|\w+ed)\s+again\W*$"
    r"|^(?:i|we)\s+(?:didn't|did not|haven't|have not|never|hadn't)\s+(?:actually\s+|really\s+"
    r"|yet\s+|quite\s+)?(?:finish(?:ed)?\s+|do(?:ne)?\s+|get\s+to\s+)?(?P<z>\w+.+?)"
    r"(?:\s+(?:yet|after all|at all|actually))?\W*$"
    r"|^(?:i\s+|we\s+)?(?:accidentally\s+|mistakenly\s+)?(?:marked|ticked|checked|completed|closed)"
    r"\s+(?P<w>.+?)\s*(?:(?:as\s+)?(?:done|complete[d]?|finished|off))?\s+"
    r"(?:by (?:mistake|accident)|accidentally|in error|wrongly)\W*$",
    re.I,
)
_IRREGULAR_PAST = (
    r"sent|paid|bought|made|wrote|took|got|went|met|spoke|fed|brought|found|gave|sold|told"
    r"|caught|built|ate|drove|did|called|hung|swam|rode|threw|knocked out"
)
_I_DID = re.compile(
    r"^(?:(?:i|we)(?:'ve|’ve| have| just| finally| already|'d| had)*\s+|just\s+|finally\s+"
    r"|already\s+)*"
    r"(?:(?:am|i'm|i’m|we're|i am|we are|all|finally|just|now)\s+){0,3}"
    r"(?P<v>(?:done|finished|completed|through)(?:\s+with)?|got\s+(?P<got>.+?)\s+done"
    r"|wrapped up|knocked out|took care of|dealt with|handled|sorted(?: out)?|ticked off"
    r"|crossed off|checked off|nailed"
    rf"|{_IRREGULAR_PAST}|[a-z]{{3,}}ed)\s+(?P<x>.+?)\W*$",
    re.I,
)
# "-ed" words that are not a past tense ("need", "shred") or that say something else.
_NOT_PAST = re.compile(
    r"^(?:need|feed|seed|bed|shed|red|weed|speed|bleed|breed|shred|wed|sled|hundred"
    r"|scheduled|moved|rescheduled|postponed|delayed|changed|added|created|renamed|tagged"
    r"|labeled|labelled|planned|wanted|needed|decided|started|forgotten|forgot|missed"
    r"|used|supposed|interested|worried|excited|tired|bored|scared|stressed|called\s+\w+\s+at)",
    re.I,
)


# A sentence that starts with one of these is something to do ("get the car fixed").
_VERB_FIRST = re.compile(
    r"^(?:get|have|make|let|keep|leave|need|want|pay|buy|call|send|fix|book|order|clean|email"
    r"|write|read|return|pick|drop|take|bring|renew|submit|file|sign|check|finish|do|go|see"
    r"|meet|visit|plan|prepare|update|review|schedule|cancel|water|walk|feed|wash|print)\b",
    re.I,
)


_DONE_THEN_WHAT = re.compile(
    r"^(?:that'?s|that is|it'?s|it is|all|now)?\s*(?:done|sorted|handled|finished|taken care of"
    r"|dealt with|all done|complete[d]?|out of the way)\s*[,:–—-]+\s*(?:the\s+|my\s+)?"
    r"(?P<x>[^,]+?)(?:\s+(?:one|task|thing))?\W*$",
    re.I,
)


@dataclass
class Statement:
    kind: str  # "complete" | "reopen"
    words: str


def statement(text: str) -> Statement | None:
    """A sentence saying a task is done ("electricity bill is paid", "booked the flights",
    "i'm done calling mom") or not done after all ("the card isn't sent yet")."""
    plain = text.strip().rstrip("!.")
    if m := _DONE_THEN_WHAT.match(plain):
        return Statement("complete", m.group("x"))  # "that's sorted, the pizza"
    if m := _NOT_DONE.match(plain):
        said = m.group("x") or m.group("v") or m.group("u") or m.group("y") or m.group("z")
        said = said or m.group("w")
        return Statement("reopen", said)
    if m := _PASSIVE_DONE.match(plain):
        subject = m.group("x")
        bare = not m.group("sep").strip()
        # "the pizza's ordered" / "insurance: done" / "report done"; a bare "<x> paid" only
        # when the subject is not a verb phrase ("pay rent").
        verb = m.group("v").lower()
        known = re.fullmatch(_DONE_WORDS, verb, re.I) is not None
        if (
            bare
            and verb not in ("done", "finished", "complete", "completed", "✓", "✔", "✅", "☑")
            and (
                not known
                or _VERB_FIRST.match(subject)
                or (len(subject.split()) > 4 and not re.match(r"(?:the|my|our)\s", subject, re.I))
            )
        ):
            return None  # "pay rent", "get the car fixed": a to-do, not news about one
        if (
            not known
            and not re.search(_COPULA, m.group("sep"), re.I)
            and verb not in ("got it", "check", "checked", "✓", "✔", "✅", "☑")
        ):
            return None
        if not known and _NOT_PAST.match(verb):
            return None
        if not re.match(r"^(?:is|are|what|how|why|when|where|who)\b", subject, re.I):
            return Statement("complete", subject)
    if (m := _I_DID.match(plain)) and not _NOT_PAST.match(m.group("v")):
        words = m.group("got") or m.group("x")
        verb = m.group("v").lower()
        if re.match(r"^(?:done|finished|completed|through|got|wrapped|knocked|took|dealt|handled"
                    r"|sorted|ticked|crossed|checked|nailed)", verb):  # fmt: skip
            return Statement("complete", words)
        # A past tense names the task by its verb: "booked the flights" → "Book flights".
        return Statement("complete", f"{verb} {words}")
    return None

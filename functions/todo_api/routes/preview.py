"""Preview a recurrence rule before saving it: the next N dates and the rule in words.

Thin over shared/domain/describe.py. `GET` takes an RRULE line (handy for a URL or a
calendar app's rule); `POST` takes the same recurrence object a task carries, which is
what the web form sends while the user edits it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import User
from functions.todo_api.http import API, Route
from functions.todo_api.models import One
from shared.domain.describe import MAX_PREVIEW, preview
from shared.domain.recurrence import Basis, Recurrence, TimeZoneName
from shared.web.routes import Call, Endpoint

Count = Annotated[int, Field(ge=1, le=MAX_PREVIEW)]


class PreviewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Annotated[str, One, StringConstraints(min_length=1, max_length=500)] = Field(
        description="One RRULE line, e.g. FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270630"
    )
    start: Annotated[AwareDatetime | None, One] = Field(
        default=None, description="The first due date. Default: the next 09:00 in tz."
    )
    tz: Annotated[TimeZoneName | None, One] = Field(
        default=None, description="IANA zone. Default: yours."
    )
    n: Annotated[Count, One] = 5
    basis: Annotated[Basis, One] = "due"


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recurrence: Recurrence
    start: AwareDatetime | None = None
    tz: TimeZoneName | None = None
    n: Count = 5


class PreviewOut(BaseModel):
    summary: str = Field(examples=["every month on the last day at 09:00, until 30 Jun"])
    timezone: str
    occurrences: list[datetime] = Field(description="The start, then the next due dates.")
    ends: bool = Field(description="True when the series has no date after the last one.")


def _default_start(tz: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    nine = datetime.combine(local.date(), time(9), ZoneInfo(tz))
    return nine if nine > local else nine + timedelta(days=1)


def _rule(query: PreviewQuery) -> Recurrence:
    # Built here, not in the query model, so a bad rule's error names `rule`.
    try:
        return Recurrence(rrule=query.rule, basis=query.basis)
    except ValidationError as exc:
        raise ValidationError.from_exception_data(
            "PreviewQuery",
            [
                {
                    "type": "value_error",
                    "loc": ("rule",),
                    "input": query.rule,
                    "ctx": {"error": ValueError(e["msg"].removeprefix("Value error, "))},
                }
                for e in exc.errors()
            ],
        ) from None


def present(rec: Recurrence, start: datetime | None, tz: str, n: int, now: datetime) -> Any:
    first = start or _default_start(tz, now)
    p = preview(rec, first, tz, n)
    out = PreviewOut(summary=p.summary, timezone=p.timezone, occurrences=p.occurrences, ends=p.ends)
    return out.model_dump(mode="json")


class PreviewRoutes:
    async def preview_rule(self, call: Call[User, None, PreviewQuery]) -> Response:
        query = call.query
        tz = query.tz or call.user.timezone
        return JSONResponse(present(_rule(query), query.start, tz, query.n, call.now))

    async def preview_recurrence(self, call: Call[User, PreviewRequest, None]) -> Response:
        body = call.body
        tz = body.tz or call.user.timezone
        return JSONResponse(present(body.recurrence, body.start, tz, body.n, call.now))

    def endpoints(self) -> list[Route]:
        recurrence = partial(Endpoint, response=PreviewOut, tags=("recurrence",))
        return [
            recurrence(
                "GET",
                f"{API}/recurrence/preview",
                self.preview_rule,
                "The next dates of an RRULE and the rule in words",
                query=PreviewQuery,
            ),
            recurrence(
                "POST",
                f"{API}/recurrence/preview",
                self.preview_recurrence,
                "The next dates of a task's recurrence object and the rule in words",
                body=PreviewRequest,
            ),
        ]

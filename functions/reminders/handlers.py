from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.reminders.jobs import read_job
from functions.reminders.members import MembershipUnknown
from functions.reminders.notifications import Notifications
from functions.reminders.scheduler import ReminderScheduler
from functions.reminders.service import RecordLags, ReminderFirer
from functions.reminders.settings import Settings
from shared.events import Event, TaskCompleted, TaskCreated, TaskDeleted, TaskReopened, TaskUpdated
from shared.telemetry import linked_span
from shared.web.errors import error_response, validation_details
from shared.web.identity import require_caller
from shared.web.paging import page_body
from shared.web.pubsub import DeadLetters, Delivery, event_endpoint

NAME = "reminders"

_TASK_EVENTS = (TaskCreated, TaskUpdated, TaskCompleted, TaskReopened, TaskDeleted)


def routes(
    firer: ReminderFirer,
    scheduler: ReminderScheduler,
    notifications: Notifications,
    dead_letters: DeadLetters,
    settings: Settings,
) -> list[Route]:
    async def on_job(request: Request) -> Response:
        # Dapr's scheduler calls this when a job is due; a non-2xx answer makes
        # it retry under the job's failure policy.
        now = datetime.now(UTC)
        name = request.path_params["name"]
        try:
            job, scheduled_in, version = read_job(json.loads(await request.body()))
        except ValueError as exc:  # not JSON, or a ValidationError
            # Retrying cannot fix it; the job's failure policy bounds the retries.
            details = validation_details(exc) if isinstance(exc, ValidationError) else {}
            return error_response(422, "malformed reminder job", details=details)
        try:
            # Dapr's scheduler starts a new trace for the callback; link it to the
            # trace of the action that scheduled the job.
            with linked_span("reminder job", scheduled_in):
                fired = await firer.fire(name, job, now, version)
        except MembershipUnknown as exc:
            # Whom to remind is unknown for now: the scheduler retries the callback.
            return error_response(503, f"list membership unavailable: {exc}")
        except RecordLags as exc:
            # Scheduled a moment ago and not recorded yet: the retry finds it recorded.
            return error_response(503, str(exc))
        return JSONResponse({"job": name, "published": fired})

    async def on_task_event(event: Event, _: Delivery) -> None:
        if isinstance(event, _TASK_EVENTS) and event.primary:
            await scheduler.on_task_event(event, datetime.now(UTC))

    async def list_notifications(request: Request) -> Response:
        require_caller(request, settings.internal_callers, settings.app_api_token)
        return JSONResponse(
            await page_body(
                request.query_params, lambda p: notifications.page(p.user_id, p.limit, p.cursor)
            )
        )

    task_events = event_endpoint(NAME, on_task_event, dead_letters)
    return [
        Route("/job/{name}", on_job, methods=["POST"]),
        # The route dapr/subscriptions/reminders.yaml names; each task version is
        # applied once and an older one never over a newer one (plan.py).
        Route("/events/task-events", task_events, methods=["POST"]),
        Route("/internal/v1/notifications", list_notifications, methods=["GET"]),
    ]

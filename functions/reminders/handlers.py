from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.reminders.service import ReminderFirer, ReminderJob
from shared.web.errors import error_response, validation_details

NAME = "reminders"


def routes(firer: ReminderFirer) -> list[Route]:
    async def on_job(request: Request) -> Response:
        # Dapr's scheduler calls this when a job is due; a non-2xx answer makes
        # it retry under the job's failure policy.
        now = datetime.now(UTC)
        name = request.path_params["name"]
        try:
            job = ReminderJob.model_validate_json(await request.body())
        except ValidationError as exc:
            # Retrying cannot fix it; the job's failure policy bounds the retries.
            return error_response(422, "malformed reminder job", details=validation_details(exc))
        fired = await firer.fire(name, job, now)
        return JSONResponse({"job": name, "published": fired})

    return [Route("/job/{name}", on_job, methods=["POST"])]

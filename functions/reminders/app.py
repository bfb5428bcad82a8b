from __future__ import annotations

from starlette.applications import Starlette

from functions.reminders.handlers import NAME, routes
from functions.reminders.members import ListDirectory
from functions.reminders.notifications import Notifications
from functions.reminders.plan import JobPolicy
from functions.reminders.scheduler import ReminderScheduler
from functions.reminders.service import ReminderFirer
from functions.reminders.settings import Settings
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.web.app import create_function_app
from shared.web.pubsub import DeadLetters


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    kv = sidecar.state(settings.kv_store)
    lists = ListDirectory(sidecar.invoker, settings.todo_api_app_id)
    firer = ReminderFirer(kv, sidecar.publisher, lists)
    policy = JobPolicy(settings.job_max_retries, settings.job_retry_interval_s)
    scheduler = ReminderScheduler(kv, sidecar.jobs, sidecar.publisher, policy)
    return create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=routes(
            firer, scheduler, Notifications(kv), DeadLetters(sidecar.publisher), settings
        ),
    )

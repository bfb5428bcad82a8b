"""Applying a task event to Dapr jobs: act, then record what was applied.

Acting first and recording after (one write, conditional on the ETag read before
acting) makes a crash harmless: nothing is recorded, so the redelivered event acts
again (every call is idempotent: jobs are overwritten or deleted by name, events keep
their ids). Two events of one task can be handled at once (different partitions, even
different replicas), so the record is the referee: the handler whose write succeeds
read the record after every earlier successful write, hence acted after every handler
that wrote before it. One whose write fails may have acted after the winner did; it
re-reads and re-applies the record in full (the newest version: its own if newer,
the winner's if not) and writes again, until a write of its succeeds. The last write
therefore always follows the last calls, and they match it.

Until the record is written it lags behind the jobs; a callback of a job newer than
the record waits for it (service.py). Most task changes touch no reminder's time:
their plan makes no call and the event costs one read and one write (so a late older
version is known stale); a task created without reminders needs no record at all.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from functions.reminders.jobs import sched_key
from functions.reminders.plan import (
    Announcement,
    JobPolicy,
    Plan,
    SchedState,
    converge,
    corrections,
    job_spec,
    plan_event,
)
from shared.dapr import EtagMismatch, Jobs, Publisher, StateItem, StateStore
from shared.events import TaskCreated, TaskEvent
from shared.telemetry import current_traceparent
from shared.topics import Topic

log = logging.getLogger(__name__)

_ATTEMPTS = 8


class Contended(Exception):
    """The task's state kept changing under us: let Dapr redeliver the event."""


def _state(item: StateItem | None) -> SchedState | None:
    if item is None or not isinstance(item.value, dict):
        return None
    return SchedState.model_validate(item.value)


class ReminderScheduler:
    def __init__(
        self, store: StateStore, jobs: Jobs, publisher: Publisher, policy: JobPolicy
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._publisher = publisher
        self._policy = policy

    async def on_task_event(self, event: TaskEvent, now: datetime) -> bool:
        """Schedule / replace / cancel the task's jobs; False when the event is stale."""
        key = sched_key(event.task_id)
        acted = False  # calls made: they may have landed after another handler's
        said: dict[int, Announcement] = {}  # the last reminder.* word of this handling

        span = 0  # reminder indexes any job of this handling may exist for
        for attempt in range(_ATTEMPTS):
            item = await self._store.get(key)
            prev = _state(item)
            # After calls of ours, re-apply all, and say it again under new ids: another
            # handling's word may have come after ours. The ids stay deterministic, so a
            # redelivery taking the same path repeats them.
            tag = f"|attempt {attempt}" if acted else ""
            plan = plan_event(prev, event, now, full=acted, tag=tag)
            stale = plan is None
            if plan is None and not acted:
                log.info(
                    "%s v%s of task %s is stale or a duplicate (applied v%s)",
                    event.type,
                    event.task.version,
                    event.task_id,
                    prev.version if prev else None,
                )
                return False
            if plan is None:
                # A newer version was recorded after we acted: our calls may have landed
                # after its own, so re-apply it and record it again (its ETag changes,
                # so a handler still acting on an older read re-applies too).
                assert prev is not None  # plan_event is None only against a record
                log.info("task %s moved to v%s meanwhile; converging", event.task_id, prev.version)
                plan = converge(prev, event.task_id, span)
                words = corrections(said, prev, event.task.version, now)
                plan = Plan(plan.state, plan.schedule, plan.cancel, words)
            elif prev is None and not (plan.acts or acted) and isinstance(event, TaskCreated):
                return True  # version 1, no reminders: nothing older can come
            span = max(span, plan.state.count, len(plan.state.jobs), prev.count if prev else 0)
            if plan.acts:
                await self._execute(plan, now)
                said.update((ev.reminder_index, ev) for ev in plan.events)
                acted = True
            if await self._record(key, item, plan.state):
                return not stale
        raise Contended(event.task_id)

    async def _record(self, key: str, item: StateItem | None, state: SchedState) -> bool:
        value = state.model_dump(mode="json")
        if item is None:  # just read as absent: insert, without reading again
            return await self._store.insert(key, value)
        try:
            await self._store.save(key, value, etag=item.etag)
        except EtagMismatch:
            return False
        return True

    async def _execute(self, plan: Plan, now: datetime) -> None:
        trace = current_traceparent()
        version = plan.state.version
        calls = [
            self._jobs.schedule(job_spec(j, now, self._policy, trace, version))
            for j in plan.schedule
        ]
        calls += [self._jobs.delete(name) for name in plan.cancel]
        await asyncio.gather(*calls)
        # Announced with the calls, before the record: a crash or a broker outage in
        # between redoes both, under the same event ids.
        for ev in plan.events:
            await self._publisher.publish(Topic.REMINDERS, ev, partition_key=ev.user_id)

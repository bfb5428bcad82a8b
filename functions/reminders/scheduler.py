"""Applying a task event to Dapr jobs: claim the new state, act, then make sure we converged.

Two events of one task can be handled at once (different partitions, even different
replicas). The state is claimed first with an ETag, so only one of them wins a
version; but the loser's job calls may still land after the winner's. So after
acting, each handler re-reads the state and, if a newer version was claimed
meanwhile, re-applies that version in full: the last one to act writes the newest
jobs. The claim is marked pending until then, so a crash in between is redone.

Most task changes touch no reminder: their plan does nothing but record the version
(so a late older one is known stale), in one write and without the pending round;
a task created without reminders needs no record at all.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from functions.reminders.jobs import sched_key
from functions.reminders.plan import JobPolicy, Plan, SchedState, converge, job_spec, plan_event
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
        for _ in range(_ATTEMPTS):
            item = await self._store.get(key)
            prev = _state(item)
            plan = plan_event(prev, event, now)
            if plan is None:
                log.info(
                    "%s v%s of task %s is stale or a duplicate (applied v%s)",
                    event.type,
                    event.task.version,
                    event.task_id,
                    prev.version if prev else None,
                )
                return False
            if not plan.acts:
                if prev is None and isinstance(event, TaskCreated):
                    return True  # version 1, no reminders: nothing older can come
                if await self._claim(key, item, plan.state.model_copy(update={"pending": False})):
                    return True
                continue
            if not await self._claim(key, item, plan.state):
                continue
            await self._execute(plan, now)
            span = max(plan.state.count, prev.count if prev else 0)
            await self._settle(key, event.task_id, plan.state, span, now)
            return True
        raise Contended(event.task_id)

    async def _claim(self, key: str, item: StateItem | None, state: SchedState) -> bool:
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
        calls = [self._jobs.schedule(job_spec(j, now, self._policy, trace)) for j in plan.schedule]
        calls += [self._jobs.delete(name) for name in plan.cancel]
        await asyncio.gather(*calls)
        for ev in plan.events:
            await self._publisher.publish(Topic.REMINDERS, ev, partition_key=ev.user_id)

    async def _settle(
        self, key: str, task_id: str, applied: SchedState, span: int, now: datetime
    ) -> None:
        for _ in range(_ATTEMPTS):
            item = await self._store.get(key)
            current = _state(item)
            if item is None or current is None:
                return
            if (current.version, current.deleted) == (applied.version, applied.deleted):
                if current.pending:
                    try:
                        done = current.model_copy(update={"pending": False})
                        await self._store.save(key, done.model_dump(mode="json"), etag=item.etag)
                    except EtagMismatch:
                        continue
                return
            # A newer version was claimed while we acted, and our calls may have landed
            # after its own: converge on it.
            log.info("task %s moved to v%s meanwhile; converging", task_id, current.version)
            await self._execute(converge(current, task_id, span), now)
            span = max(span, current.count)
            applied = current
        raise Contended(task_id)

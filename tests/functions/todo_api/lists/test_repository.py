"""The list repository over the in-memory store: one transaction per change (list row,
user rows, outbox row), a lost race decided again from a fresh read, the upgrade of a
row from before sharing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.todo_api.errors import NotFound, Refused
from functions.todo_api.limits import Limits
from functions.todo_api.lists import ATTEMPTS, policy
from functions.todo_api.lists.repository import ListRepository
from functions.todo_api.outbox import Outbox
from functions.todo_api.store import id_key, list_key, list_row, read_list
from shared.dapr import StateOp
from shared.dapr.fake import FakeDapr, FakeStateStore
from shared.events import ListSnapshot, Member
from tests.functions.todo_api.lists.test_policy import snapshot, user

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class Racing(FakeStateStore):
    """A store where someone else writes the list row just before our next `n` commits."""

    def __init__(self) -> None:
        super().__init__("kv")
        self.races = 0
        self.decisions = 0

    async def transact(self, ops: list[StateOp]) -> None:
        if self.races:
            self.races -= 1
            row = self.rows[list_key("L")][0]
            self._write(list_key("L"), {**row, "name": f"renamed {self.races}"})
        await super().transact(ops)


def setup(kv: FakeStateStore, snap: ListSnapshot) -> ListRepository:
    dapr = FakeDapr()
    kv.rows.clear()
    kv._write(list_key(snap.id), list_row(snap))
    for m in snap.members:
        kv._write(id_key(m.user_id), {"id": m.user_id, "memberships": {snap.id: m.role}})
    kv._write(id_key("cat"), {"id": "cat", "memberships": {}, "invitations": {}})
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="t")
    return ListRepository(kv, outbox)


def counting(kv: Racing, decide: Callable[[ListSnapshot], Any]) -> Callable[[ListSnapshot], Any]:
    def wrapped(before: ListSnapshot) -> Any:
        kv.decisions += 1
        return decide(before)

    return wrapped


async def test_a_change_commits_list_user_rows_and_its_event_in_one_transaction() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    ann = user("ann", {"L": "owner"})

    def share(before: ListSnapshot) -> policy.Change | None:
        return policy.decide_share(before, ann, "cat", "cat", "editor", NOW, Limits())[0]

    after = await repo.mutate("L", share)
    assert kv.transactions == 1
    stored = read_list(kv.rows[list_key("L")][0])
    assert stored == after
    assert [m.user_id for m in after.invited] == ["cat"]
    cat_row = kv.rows[id_key("cat")][0]
    assert cat_row["invitations"]["L"]["by"] == "ann"
    outbox_rows = [k for k in kv.rows if k not in (list_key("L"), id_key("ann"), id_key("cat"))]
    assert len(outbox_rows) == 1  # the event's row, written with the change


async def test_a_lost_race_is_decided_again_on_what_is_there_now() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    kv.races = 2
    ann = user("ann", {"L": "owner"})
    seen: list[str] = []

    def rename(before: ListSnapshot) -> policy.Change | None:
        seen.append(before.name)
        return policy.decide_update(before, ann, NOW, name="mine")

    after = await repo.mutate("L", counting(kv, rename))
    assert kv.decisions == 3
    assert seen == ["groceries", "renamed 1", "renamed 0"]
    assert after.name == "mine"
    assert read_list(kv.rows[list_key("L")][0]) == after


async def test_endless_races_give_up_busy_and_leave_the_row_as_the_others_wrote_it() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    kv.races = ATTEMPTS
    ann = user("ann", {"L": "owner"})
    with pytest.raises(Refused) as refused:
        await repo.mutate("L", lambda b: policy.decide_update(b, ann, NOW, name="mine"))
    assert refused.value.code == "busy"
    assert kv.rows[list_key("L")][0]["name"] == "renamed 0"


async def test_no_change_writes_nothing_and_a_missing_list_is_not_found() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    writes = kv.writes
    assert (await repo.mutate("L", lambda b: None)).id == "L"
    assert kv.writes == writes
    with pytest.raises(NotFound):
        await repo.mutate("nope", lambda b: None)


async def test_a_deleted_account_is_skipped_not_resurrected() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner", "bob": "editor"}))
    kv.rows.pop(id_key("bob"))
    ann = user("ann", {"L": "owner"})
    await repo.mutate("L", lambda b: policy.decide_delete(b, ann, NOW))
    assert list_key("L") not in kv.rows
    assert id_key("bob") not in kv.rows
    assert kv.rows[id_key("ann")][0]["memberships"] == {}


async def test_a_row_from_before_sharing_is_upgraded_once_then_changed() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    # The shape of 2025: no `kind`, members as a map, the owner's row with `lists`.
    kv._write(
        list_key("L"),
        {"id": "L", "owner_id": "ann", "members": {"ann": "owner"}, "created_at": NOW.isoformat()},
    )
    kv._write(id_key("ann"), {"id": "ann", "username": "ann", "lists": ["L"], "default_list": "L"})
    read = await repo.get("L")
    assert read is not None
    assert (read.name, read.default, read.members) == (
        "Inbox",
        True,
        [Member(user_id="ann", username="ann", role="owner")],
    )
    assert read_list(kv.rows[list_key("L")][0]) == read  # stored in today's shape
    ann = user("ann", {"L": "owner"})
    after = await repo.mutate("L", lambda b: policy.decide_update(b, ann, NOW, name="home"))
    assert after.name == "home"
    # A rename touches no user row: the owner's keeps its old `lists` until one does.
    assert "lists" in kv.rows[id_key("ann")][0]


async def test_an_old_row_whose_owner_is_gone_is_no_list() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    kv._write(list_key("L"), {"id": "L", "owner_id": "ghost", "members": {"ghost": "owner"}})
    assert await repo.get("L") is None
    with pytest.raises(NotFound):
        await repo.mutate("L", lambda b: None)


async def test_create_inserts_the_list_and_the_owner_membership() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    ann = user("ann", {"L": "owner"})
    change = policy.decide_create(ann, "trip", NOW, Limits())
    made = await repo.create(change)
    assert read_list(kv.rows[list_key(made.id)][0]) == made
    assert kv.rows[id_key("ann")][0]["memberships"] == {"L": "owner", made.id: "owner"}
    ghost = policy.decide_create(user("ghost"), "x", NOW, Limits())
    with pytest.raises(NotFound):
        await repo.create(ghost)


async def test_blocking_and_forgetting_an_invitation_touch_only_the_user_row() -> None:
    kv = Racing()
    repo = setup(kv, snapshot({"ann": "owner"}))
    kv._write(id_key("cat"), {"id": "cat", "invitations": {"L": {"by": "ann"}, "M": {}}})
    await repo.set_blocked("cat", "ann", blocked=True)
    await repo.forget_invitation("cat", "L")
    row = kv.rows[id_key("cat")][0]
    assert (row["blocked"], row["invitations"]) == (["ann"], {"M": {}})
    await repo.set_blocked("cat", "ann", blocked=False)
    assert kv.rows[id_key("cat")][0]["blocked"] == []
    assert await repo.user_by_name("a|b") is None  # no key can hold it: nobody

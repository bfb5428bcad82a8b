"""The list policy on its own: every decision from a snapshot, a caller and the clock,
with no store behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, Refused
from functions.todo_api.limits import LimitReached, Limits
from functions.todo_api.lists import policy
from shared.events import (
    InvitationDeclined,
    ListCreated,
    ListDeleted,
    ListSnapshot,
    ListUpdated,
    Member,
    MemberAdded,
    MemberChanged,
    MemberInvited,
    MemberRemoved,
    Role,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def user(
    uid: str,
    roles: dict[str, Role] | None = None,
    invitations: dict[str, dict[str, str]] | None = None,
) -> User:
    return User(
        id=uid,
        username=f"{uid}-name",
        timezone="UTC",
        default_list=f"{uid}-inbox",
        roles=roles or {},
        invitations=dict(invitations or {}),
    )


def snapshot(
    members: dict[str, Role], invited: dict[str, Role] | None = None, *, default: bool = False
) -> ListSnapshot:
    owner = next(m for m, r in members.items() if r == "owner")

    def people(roles: dict[str, Role]) -> list[Member]:
        return [Member(user_id=m, username=f"{m}-name", role=r) for m, r in roles.items()]

    return ListSnapshot(
        id="L",
        name="groceries",
        owner_id=owner,
        members=people(members),
        invited=people(invited or {}),
        default=default,
        created_at=T0,
        updated_at=T0,
    )


ANN = user("ann", {"L": "owner"})
BOB_EDITOR = user("bob", {"L": "editor"})
SHARED = snapshot({"ann": "owner", "bob": "editor"})


# -- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed", "outcome"),
    [
        ("owner", policy.MANAGE, "owner"),
        ("editor", policy.WRITE, "editor"),
        ("viewer", policy.READ, "viewer"),
        ("viewer", policy.WRITE, Forbidden),
        ("editor", policy.MANAGE, Forbidden),
        (None, policy.READ, NotFound),
    ],
)
def test_require_answers_the_role_or_refuses(
    role: Role | None, allowed: frozenset[Role], outcome: object
) -> None:
    caller = user("u", {"L": role} if role else {})
    if isinstance(outcome, str):
        assert policy.require(caller, "L", allowed) == outcome
    else:
        with pytest.raises(outcome):  # type: ignore[call-overload]
            policy.require(caller, "L", allowed)


def test_the_list_row_overrides_a_stale_user_row() -> None:
    # bob's token still says editor; the list row says he was removed.
    with pytest.raises(NotFound):
        policy.decide_access(snapshot({"ann": "owner"}), "bob", policy.WRITE)
    with pytest.raises(Forbidden):
        policy.decide_access(snapshot({"ann": "owner", "bob": "viewer"}), "bob", policy.WRITE)
    policy.decide_access(SHARED, "bob", policy.WRITE)


# -- create and update ---------------------------------------------------------------


def test_create_makes_the_caller_owner_and_announces_it() -> None:
    change = policy.decide_create(ANN, "trip", NOW, Limits())
    assert change.after is not None
    assert (change.after.name, change.after.owner_id, change.after.member_ids) == (
        "trip",
        "ann",
        ["ann"],
    )
    assert isinstance(change.event, ListCreated)
    assert change.roles == {"ann": "owner"}


def test_create_stops_at_the_limits() -> None:
    with pytest.raises(LimitReached, match="You own 1 lists"):
        policy.decide_create(ANN, "x", NOW, Limits(lists_owned=1))
    with pytest.raises(LimitReached, match="You are in 1 lists"):
        policy.decide_create(BOB_EDITOR, "x", NOW, Limits(lists_joined=1))


def test_update_names_only_what_changed_and_bumps_the_version() -> None:
    assert policy.decide_update(SHARED, ANN, NOW, name="groceries") is None
    change = policy.decide_update(SHARED, ANN, NOW, name="food", remind="creator")
    assert change is not None
    assert change.after is not None
    assert isinstance(change.event, ListUpdated)
    assert change.event.changed == ["name"]
    assert (change.after.name, change.after.version, change.after.updated_at) == (
        "food",
        SHARED.version + 1,
        NOW,
    )
    assert change.audience(SHARED) == ["ann", "bob"]


# -- sharing --------------------------------------------------------------------------


def test_nobody_invites_themself_or_someone_who_blocked_them() -> None:
    with pytest.raises(Refused) as own:
        policy.decide_invitable(ANN, "ann", "ann-name", [])
    assert own.value.code == "owner"
    with pytest.raises(Refused) as blocked:
        policy.decide_invitable(ANN, "cat", "cat-name", ["ann"])
    assert blocked.value.code == "blocked"
    policy.decide_invitable(ANN, "cat", "cat-name", ["someone-else"])


def test_sharing_with_an_outsider_invites_and_only_they_hear_of_it_besides_members() -> None:
    change, outcome = policy.decide_share(SHARED, ANN, "cat", "cat-name", "viewer", NOW, Limits())
    assert outcome == "invited"
    assert change is not None
    assert change.after is not None
    assert isinstance(change.event, MemberInvited)
    assert change.after.member_ids == ["ann", "bob"]  # not a member before accepting
    assert [(m.user_id, m.role) for m in change.after.invited] == [("cat", "viewer")]
    assert change.roles == {}
    invitation = change.invites["cat"]
    assert invitation is not None
    assert (invitation["by"], invitation["list_name"]) == ("ann", "groceries")
    assert change.audience(SHARED) == ["ann", "bob", "cat"]


def test_inviting_again_with_the_same_role_changes_nothing_and_another_role_replaces() -> None:
    invited = snapshot({"ann": "owner"}, {"cat": "viewer"})
    assert policy.decide_share(invited, ANN, "cat", "x", "viewer", NOW, Limits()) == (
        None,
        "invited",
    )
    change, _ = policy.decide_share(invited, ANN, "cat", "x", "editor", NOW, Limits())
    assert change is not None
    assert change.after is not None
    # The name stays the one the invitation was made with.
    assert [(m.user_id, m.username, m.role) for m in change.after.invited] == [
        ("cat", "cat-name", "editor")
    ]


def test_a_full_list_takes_no_new_invitation_but_may_change_a_pending_one() -> None:
    full = snapshot({"ann": "owner", "bob": "editor"}, {"cat": "viewer"})
    limits = Limits(members_per_list=3)
    with pytest.raises(LimitReached, match="3 members and invitations"):
        policy.decide_share(full, ANN, "dan", "dan-name", "viewer", NOW, limits)
    change, _ = policy.decide_share(full, ANN, "cat", "cat-name", "editor", NOW, limits)
    assert change is not None


def test_sharing_with_a_member_changes_their_role() -> None:
    assert policy.decide_share(SHARED, ANN, "bob", "bob-name", "editor", NOW, Limits()) == (
        None,
        "unchanged",
    )
    change, outcome = policy.decide_share(SHARED, ANN, "bob", "x", "viewer", NOW, Limits())
    assert outcome == "changed"
    assert change is not None
    assert change.after is not None
    assert isinstance(change.event, MemberChanged)
    assert change.event.previous_role == "editor"
    assert change.after.role_of("bob") == "viewer"
    assert change.roles == {"bob": "viewer"}


def test_accepting_needs_an_invitation_and_room() -> None:
    cat = user("cat", {}, {"L": {"role": "viewer", "by": "ann"}})
    policy.decide_may_accept(cat, "L", Limits())
    with pytest.raises(NotFound):
        policy.decide_may_accept(cat, "other", Limits())
    busy = user("cat", {"X": "owner"}, {"L": {"role": "viewer", "by": "ann"}})
    with pytest.raises(LimitReached, match="Leave one before you accept"):
        policy.decide_may_accept(busy, "L", Limits(lists_joined=1))
    policy.decide_may_accept(BOB_EDITOR, "L", Limits(lists_joined=1))  # a member already


def test_accept_moves_the_invitee_to_the_members_with_the_invited_role() -> None:
    invited = snapshot({"ann": "owner"}, {"cat": "editor"})
    cat = user("cat")
    change = policy.decide_accept(invited, cat, NOW)
    assert change is not None
    assert change.after is not None
    assert isinstance(change.event, MemberAdded)
    assert change.after.role_of("cat") == "editor"
    assert change.after.invited == []
    assert change.roles == {"cat": "editor"}
    assert policy.decide_accept(change.after, cat, NOW) is None  # accepted already
    with pytest.raises(NotFound):
        policy.decide_accept(snapshot({"ann": "owner"}), cat, NOW)  # withdrawn meanwhile


def test_withdraw_ends_the_invitation_and_tells_the_invitee() -> None:
    invited = snapshot({"ann": "owner"}, {"cat": "viewer"})
    change = policy.decide_withdraw(invited, ANN, "cat", NOW)
    assert isinstance(change.event, InvitationDeclined)
    assert change.after is not None
    assert change.after.invited == []
    assert change.invites == {"cat": None}
    assert change.audience(invited) == ["ann", "cat"]
    with pytest.raises(NotFound):
        policy.decide_withdraw(SHARED, ANN, "cat", NOW)


# -- leaving, removing, deleting ------------------------------------------------------


def test_who_may_unshare() -> None:
    assert policy.decide_may_unshare(BOB_EDITOR, "L", "bob") is True  # leaving
    assert policy.decide_may_unshare(ANN, "L", "bob") is False  # the owner removing
    with pytest.raises(Forbidden):
        policy.decide_may_unshare(BOB_EDITOR, "L", "ann")
    with pytest.raises(Refused) as owner:
        policy.decide_may_unshare(ANN, "L", "ann")
    assert owner.value.code == "owner"
    with pytest.raises(NotFound):
        policy.decide_may_unshare(user("eve"), "L", "eve")


def test_unshare_removes_a_member_or_withdraws_an_invitation() -> None:
    change = policy.decide_unshare(SHARED, ANN, "bob", "bob-name", NOW, leaving=False)
    assert isinstance(change.event, MemberRemoved)
    assert change.roles == {"bob": None}
    assert change.audience(SHARED) == ["ann", "bob"]  # bob hears he was removed
    invited = snapshot({"ann": "owner"}, {"cat": "viewer"})
    withdrawn = policy.decide_unshare(invited, ANN, "cat", "cat-name", NOW, leaving=False)
    assert isinstance(withdrawn.event, InvitationDeclined)
    with pytest.raises(NotFound, match="nobody"):
        policy.decide_unshare(SHARED, ANN, None, "nobody", NOW, leaving=False)


def test_delete_takes_the_list_from_every_member_but_never_a_default_list() -> None:
    change = policy.decide_delete(SHARED, ANN, NOW)
    assert change.after is None
    assert isinstance(change.event, ListDeleted)
    assert change.roles == {"ann": None, "bob": None}
    with pytest.raises(Refused) as refused:
        policy.decide_delete(snapshot({"ann": "owner"}, default=True), ANN, NOW)
    assert refused.value.code == "default_list"


def test_invitations_shown_are_those_the_list_still_holds_without_the_inviter_id() -> None:
    cat = user(
        "cat",
        invitations={
            "L": {"role": "viewer", "by": "ann", "by_name": "ann-name"},
            "gone": {"role": "viewer", "by": "ann"},
            "withdrawn": {"role": "viewer", "by": "ann"},
        },
    )
    alive = {
        "L": snapshot({"ann": "owner"}, {"cat": "viewer"}),
        "withdrawn": snapshot({"ann": "owner"}),
    }
    assert policy.visible_invitations(cat, alive) == [
        {"role": "viewer", "by_name": "ann-name", "list_id": "L", "list_name": "groceries"}
    ]
    assert policy.invited_by(cat, "ann") == ["L", "gone", "withdrawn"]
    assert policy.invited_by(cat, "bob") == []

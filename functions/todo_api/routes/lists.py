"""Lists and sharing over HTTP: thin over ListService (DESIGN §3): lists, members,
invitations and blocks."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import User
from functions.todo_api.http import API, Route
from functions.todo_api.lists import ListService
from functions.todo_api.models import (
    DeclineQuery,
    InvitationItems,
    ListCreate,
    ListItems,
    ListOut,
    ListPatch,
    MemberPut,
)
from shared.events import ListSnapshot
from shared.web.routes import Call, Endpoint

ONE = f"{API}/lists/{{list_id}}"
MEMBER = f"{ONE}/members/{{username}}"


def present(snapshot: ListSnapshot, user: User | None) -> dict[str, Any]:
    body = snapshot.model_dump(mode="json")
    if user is not None:
        body["role"] = snapshot.role_of(user.id) or user.roles.get(snapshot.id)
    return body


def _list_response(snapshot: ListSnapshot, user: User, status: int = 200) -> JSONResponse:
    headers = {"Location": f"{API}/lists/{snapshot.id}"} if status == 201 else {}
    return JSONResponse(present(snapshot, user), status_code=status, headers=headers)


class ListRoutes:
    def __init__(self, lists: ListService) -> None:
        self.service = lists

    async def list_lists(self, call: Call[User, None, None]) -> Response:
        mine = await self.service.mine(call.user)
        return JSONResponse({"items": [present(s, call.user) for s in mine]})

    async def create_list(self, call: Call[User, ListCreate, None]) -> Response:
        snapshot = await self.service.create(call.user, call.body.name, call.now)
        return _list_response(snapshot, call.user, 201)

    async def get_list(self, call: Call[User, None, None]) -> Response:
        snapshot = await self.service.get(call.user, call.param("list_id"))
        return _list_response(snapshot, call.user)

    async def patch_list(self, call: Call[User, ListPatch, None]) -> Response:
        snapshot = await self.service.update(
            call.user,
            call.param("list_id"),
            call.now,
            name=call.body.name,
            remind=call.body.remind,
        )
        return _list_response(snapshot, call.user)

    async def delete_list(self, call: Call[User, None, None]) -> Response:
        await self.service.delete(call.user, call.param("list_id"), call.now)
        return Response(status_code=204)

    async def put_member(self, call: Call[User, MemberPut, None]) -> Response:
        snapshot, outcome = await self.service.share(
            call.user, call.param("list_id"), call.param("username"), call.body.role, call.now
        )
        # 202: an invitation, not yet a member (the list as the owner sees it).
        return _list_response(snapshot, call.user, 202 if outcome == "invited" else 200)

    async def list_invitations(self, call: Call[User, None, None]) -> Response:
        return JSONResponse({"items": await self.service.invitations(call.user)})

    async def accept_invitation(self, call: Call[User, None, None]) -> Response:
        snapshot = await self.service.accept(call.user, call.param("list_id"), call.now)
        return _list_response(snapshot, call.user)

    async def decline_invitation(self, call: Call[User, None, DeclineQuery]) -> Response:
        await self.service.decline(
            call.user, call.param("list_id"), call.now, block=call.query.block
        )
        return Response(status_code=204)

    async def put_block(self, call: Call[User, None, None]) -> Response:
        await self.service.block(call.user, call.param("username"), call.now, blocked=True)
        return Response(status_code=204)

    async def delete_block(self, call: Call[User, None, None]) -> Response:
        await self.service.block(call.user, call.param("username"), call.now, blocked=False)
        return Response(status_code=204)

    async def delete_member(self, call: Call[User, None, None]) -> Response:
        await self.service.unshare(
            call.user, call.param("list_id"), call.param("username"), call.now
        )
        return Response(status_code=204)

    def endpoints(self) -> list[Route]:
        lists = partial(Endpoint, tags=("lists",))
        a_list = partial(lists, subject="list")
        invitation = partial(lists, errors=(404,), subject="invitation")
        block = partial(lists, status=204, errors=(422,), subject="user")
        owner_only = (403, 404, 409)
        return [
            lists(
                "GET",
                f"{API}/lists",
                self.list_lists,
                "The lists you are a member of",
                response=ListItems,
            ),
            a_list(
                "POST",
                f"{API}/lists",
                self.create_list,
                "Create a list (you own it)",
                body=ListCreate,
                response=ListOut,
                status=201,
            ),
            a_list(
                "GET", ONE, self.get_list, "A list and its members", response=ListOut, errors=(404,)
            ),
            a_list(
                "PATCH",
                ONE,
                self.patch_list,
                "Rename a list or say whom its reminders reach (owner)",
                body=ListPatch,
                response=ListOut,
                errors=(403, 404),
            ),
            a_list(
                "DELETE",
                ONE,
                self.delete_list,
                "Delete a list and its tasks (owner; not your default list)",
                status=204,
                errors=owner_only,
            ),
            a_list(
                "PUT",
                MEMBER,
                self.put_member,
                "Invite a user to the list (202; they become a member when they accept), "
                "or change a member's role (owner)",
                body=MemberPut,
                response=ListOut,
                status=202,
                errors=owner_only,
            ),
            lists(
                "GET",
                f"{API}/invitations",
                self.list_invitations,
                "Your pending invitations",
                response=InvitationItems,
            ),
            invitation(
                "POST",
                f"{API}/invitations/{{list_id}}/accept",
                self.accept_invitation,
                "Accept an invitation: you become a member with the role offered",
                response=ListOut,
            ),
            invitation(
                "POST",
                f"{API}/invitations/{{list_id}}/decline",
                self.decline_invitation,
                "Decline an invitation (block=true: and refuse later ones from the inviter)",
                query=DeclineQuery,
                status=204,
            ),
            block(
                "PUT",
                f"{API}/blocks/{{username}}",
                self.put_block,
                "Refuse invitations from this user (their pending ones go too)",
            ),
            block(
                "DELETE",
                f"{API}/blocks/{{username}}",
                self.delete_block,
                "Accept invitations from this user again",
            ),
            lists(
                "DELETE",
                MEMBER,
                self.delete_member,
                "Remove a member (owner), or leave the list (yourself)",
                status=204,
                errors=owner_only,
                subject="list or member",
            ),
        ]

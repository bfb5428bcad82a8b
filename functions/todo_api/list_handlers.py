"""Lists and sharing over HTTP: thin handlers over ListService (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import User
from functions.todo_api.http import API, guarded, parse_body
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
from functions.todo_api.settings import Settings
from shared.events import ListSnapshot
from shared.web.errors import ApiError
from shared.web.identity import require_caller
from shared.web.openapi import Endpoint


def present(snapshot: ListSnapshot, user: User | None) -> dict[str, Any]:
    body = snapshot.model_dump(mode="json")
    if user is not None:
        body["role"] = snapshot.role_of(user.id) or user.roles.get(snapshot.id)
    return body


def _list_response(snapshot: ListSnapshot, user: User, status: int = 200) -> JSONResponse:
    headers = {"Location": f"{API}/lists/{snapshot.id}"} if status == 201 else {}
    return JSONResponse(present(snapshot, user), status_code=status, headers=headers)


class ListsApi:
    def __init__(
        self,
        lists: ListService,
        user: Callable[[Request], Awaitable[User]],
        settings: Settings,
    ) -> None:
        self.service = lists
        self.user = user
        self.settings = settings

    async def list_lists(self, request: Request) -> Response:
        user = await self.user(request)
        mine = await self.service.mine(user)
        return JSONResponse({"items": [present(s, user) for s in mine]})

    async def create_list(self, request: Request) -> Response:
        user = await self.user(request)
        body = await parse_body(request, ListCreate, self.settings.max_body_bytes)
        snapshot = await guarded(self.service.create(user, body.name, datetime.now(UTC)), "list")
        return _list_response(snapshot, user, 201)

    async def get_list(self, request: Request) -> Response:
        user = await self.user(request)
        snapshot = await guarded(self.service.get(user, request.path_params["list_id"]), "list")
        return _list_response(snapshot, user)

    async def patch_list(self, request: Request) -> Response:
        user = await self.user(request)
        body = await parse_body(request, ListPatch, self.settings.max_body_bytes)
        snapshot = await guarded(
            self.service.update(
                user,
                request.path_params["list_id"],
                datetime.now(UTC),
                name=body.name,
                remind=body.remind,
            ),
            "list",
        )
        return _list_response(snapshot, user)

    async def delete_list(self, request: Request) -> Response:
        user = await self.user(request)
        await guarded(
            self.service.delete(user, request.path_params["list_id"], datetime.now(UTC)), "list"
        )
        return Response(status_code=204)

    async def put_member(self, request: Request) -> Response:
        user = await self.user(request)
        body = await parse_body(request, MemberPut, self.settings.max_body_bytes)
        snapshot, outcome = await guarded(
            self.service.share(
                user,
                request.path_params["list_id"],
                request.path_params["username"],
                body.role,
                datetime.now(UTC),
            ),
            "list",
        )
        # 202: an invitation, not yet a member (the list as the owner sees it).
        return _list_response(snapshot, user, 202 if outcome == "invited" else 200)

    async def list_invitations(self, request: Request) -> Response:
        user = await self.user(request)
        return JSONResponse({"items": await self.service.invitations(user)})

    async def accept_invitation(self, request: Request) -> Response:
        user = await self.user(request)
        snapshot = await guarded(
            self.service.accept(user, request.path_params["list_id"], datetime.now(UTC)),
            "invitation",
        )
        return _list_response(snapshot, user)

    async def decline_invitation(self, request: Request) -> Response:
        user = await self.user(request)
        block = request.query_params.get("block", "false").lower() in ("true", "1", "yes")
        await guarded(
            self.service.decline(
                user, request.path_params["list_id"], datetime.now(UTC), block=block
            ),
            "invitation",
        )
        return Response(status_code=204)

    async def put_block(self, request: Request) -> Response:
        user = await self.user(request)
        name = request.path_params["username"]
        await guarded(self.service.block(user, name, datetime.now(UTC), blocked=True), "user")
        return Response(status_code=204)

    async def delete_block(self, request: Request) -> Response:
        user = await self.user(request)
        name = request.path_params["username"]
        await guarded(self.service.block(user, name, datetime.now(UTC), blocked=False), "user")
        return Response(status_code=204)

    async def delete_member(self, request: Request) -> Response:
        user = await self.user(request)
        await guarded(
            self.service.unshare(
                user,
                request.path_params["list_id"],
                request.path_params["username"],
                datetime.now(UTC),
            ),
            "list or member",
        )
        return Response(status_code=204)

    async def internal_list(self, request: Request) -> Response:
        """Members of a list, for reminders deciding whom a reminder still reaches."""
        require_caller(request, self.settings.internal_callers, self.settings.app_api_token)
        snapshot = await self.service.lists.get(request.path_params["list_id"])
        if snapshot is None:  # reminders reads the code: a deleted list reminds nobody
            raise ApiError(404, "no such list", code="not_found")
        return JSONResponse(present(snapshot, None))

    def endpoints(self) -> list[Endpoint]:
        one = f"{API}/lists/{{list_id}}"
        member = f"{one}/members/{{username}}"
        return [
            Endpoint(
                "GET",
                f"{API}/lists",
                self.list_lists,
                "The lists you are a member of",
                response=ListItems,
                tags=("lists",),
            ),
            Endpoint(
                "POST",
                f"{API}/lists",
                self.create_list,
                "Create a list (you own it)",
                body=ListCreate,
                response=ListOut,
                status=201,
                tags=("lists",),
            ),
            Endpoint(
                "GET",
                one,
                self.get_list,
                "A list and its members",
                response=ListOut,
                errors=(404,),
                tags=("lists",),
            ),
            Endpoint(
                "PATCH",
                one,
                self.patch_list,
                "Rename a list or say whom its reminders reach (owner)",
                body=ListPatch,
                response=ListOut,
                errors=(403, 404),
                tags=("lists",),
            ),
            Endpoint(
                "DELETE",
                one,
                self.delete_list,
                "Delete a list and its tasks (owner; not your default list)",
                status=204,
                errors=(403, 404, 409),
                tags=("lists",),
            ),
            Endpoint(
                "PUT",
                member,
                self.put_member,
                "Invite a user to the list (202; they become a member when they accept), "
                "or change a member's role (owner)",
                body=MemberPut,
                response=ListOut,
                status=202,
                errors=(403, 404, 409),
                tags=("lists",),
            ),
            Endpoint(
                "GET",
                f"{API}/invitations",
                self.list_invitations,
                "Your pending invitations",
                response=InvitationItems,
                tags=("lists",),
            ),
            Endpoint(
                "POST",
                f"{API}/invitations/{{list_id}}/accept",
                self.accept_invitation,
                "Accept an invitation: you become a member with the role offered",
                response=ListOut,
                errors=(404,),
                tags=("lists",),
            ),
            Endpoint(
                "POST",
                f"{API}/invitations/{{list_id}}/decline",
                self.decline_invitation,
                "Decline an invitation (block=true: and refuse later ones from the inviter)",
                query=DeclineQuery,
                status=204,
                errors=(404,),
                tags=("lists",),
            ),
            Endpoint(
                "PUT",
                f"{API}/blocks/{{username}}",
                self.put_block,
                "Refuse invitations from this user (their pending ones go too)",
                status=204,
                errors=(422,),
                tags=("lists",),
            ),
            Endpoint(
                "DELETE",
                f"{API}/blocks/{{username}}",
                self.delete_block,
                "Accept invitations from this user again",
                status=204,
                errors=(422,),
                tags=("lists",),
            ),
            Endpoint(
                "DELETE",
                member,
                self.delete_member,
                "Remove a member (owner), or leave the list (yourself)",
                status=204,
                errors=(403, 404, 409),
                tags=("lists",),
            ),
            Endpoint(
                "GET",
                "/internal/v1/lists/{list_id}",
                self.internal_list,
                "A list's members (reminders only, via Dapr)",
                response=ListSnapshot,
                auth=False,
                errors=(403, 404),
                tags=("internal",),
            ),
        ]

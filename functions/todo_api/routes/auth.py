"""Accounts and sessions over HTTP: register, sign in (a bearer token), who am I, sign
out (this token, or every token so far). Who is signed in comes from the edge
(shared/web/auth.py); sign-in and registration are throttled (throttle.py)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import Accounts, BadCredentials, User, UsernameTaken
from functions.todo_api.http import API, Route, session
from functions.todo_api.models import Register, TokenOut, TokenRequest, UserOut
from functions.todo_api.settings import Settings
from functions.todo_api.throttle import from_settings as throttles
from shared.tokens import Tokens
from shared.web.edge import client_address
from shared.web.errors import ApiError
from shared.web.routes import Call, Endpoint


def user_out(user: User) -> dict[str, Any]:
    return UserOut(
        id=user.id, username=user.username, timezone=user.timezone, default_list=user.default_list
    ).model_dump()


class AuthRoutes:
    def __init__(self, accounts: Accounts, tokens: Tokens, settings: Settings) -> None:
        self.accounts = accounts
        self.tokens = tokens
        self.logins, self.registrations = throttles(settings, BadCredentials)

    def _admit_registration(self, request: Request, _: None) -> None:
        # Counted before the body is read: a flood of junk is throttled too.
        self.registrations.take(client_address(request), time.monotonic())

    async def register(self, call: Call[None, Register, None]) -> Response:
        body = call.body
        try:
            user = await self.accounts.register(
                body.username, body.password, body.timezone, call.now
            )
        except UsernameTaken:
            raise ApiError(409, "that username is taken", code="username_taken") from None
        return JSONResponse(user_out(user), status_code=201)

    async def token(self, call: Call[None, TokenRequest, None]) -> Response:
        body = call.body
        address = client_address(call.request)
        try:
            with self.logins.attempt(body.username, address, time.monotonic()):
                user = await self.accounts.authenticate(body.username, body.password)
        except BadCredentials:
            raise ApiError(401, "wrong username or password", code="unauthorized") from None
        token = await self.tokens.issue(user, call.now, user.token_version)
        out = TokenOut(access_token=token, expires_in=int(self.tokens.ttl.total_seconds()))
        return JSONResponse(out.model_dump())

    async def me(self, call: Call[User, None, None]) -> Response:
        return JSONResponse(user_out(call.user))

    async def sign_out(self, call: Call[User, None, None]) -> Response:
        claims = session(call.request).claims
        await self.accounts.sign_out(claims, call.now, everywhere=False)
        return Response(status_code=204)

    async def sign_out_all(self, call: Call[User, None, None]) -> Response:
        claims = session(call.request).claims
        await self.accounts.sign_out(claims, call.now, everywhere=True)
        return Response(status_code=204)

    def endpoints(self) -> list[Route]:
        account = partial(Endpoint, tags=("auth",))
        return [
            account(
                "POST",
                f"{API}/auth/register",
                self.register,
                "Create an account",
                body=Register,
                response=UserOut,
                status=201,
                auth=False,
                errors=(409, 429),
                admit=self._admit_registration,
            ),
            account(
                "POST",
                f"{API}/auth/token",
                self.token,
                "Sign in: get a bearer token",
                body=TokenRequest,
                response=TokenOut,
                auth=False,
                errors=(429,),
            ),
            account("GET", f"{API}/me", self.me, "The signed-in user", response=UserOut),
            account(
                "POST",
                f"{API}/auth/signout",
                self.sign_out,
                "Sign out: this token stops working at once (its open sockets close)",
                status=204,
            ),
            account(
                "POST",
                f"{API}/auth/signout-all",
                self.sign_out_all,
                "Sign out everywhere: every token issued so far stops working",
                status=204,
            ),
        ]

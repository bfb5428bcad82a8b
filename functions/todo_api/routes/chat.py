"""POST /chat: talk to your tasks (functions/todo_api/chat/ understands and acts), rate
limited per user before the message is read."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import User
from functions.todo_api.http import API, Route
from functions.todo_api.models import ChatRequest, ChatResponse
from functions.todo_api.settings import Settings
from functions.todo_api.throttle import TokenBucket
from shared.web.routes import Call, Endpoint

if TYPE_CHECKING:  # the chat's engine imports routes.undo: no import cycle at run time
    from functions.todo_api.chat.engine import ChatEngine

HINT = "Say something like “add call mom tomorrow at 6pm”."


class ChatRoutes:
    def __init__(self, engine: ChatEngine, settings: Settings) -> None:
        self.engine = engine
        self.chats = TokenBucket(
            burst=settings.chat_burst,
            per_minute=settings.chat_per_minute,
            max_keys=settings.throttle_max_keys,
        )

    def _admit(self, _: Request, user: User) -> None:
        self.chats.take(user.id, time.monotonic())  # 429 + Retry-After beyond the rate

    async def chat(self, call: Call[User, ChatRequest, None]) -> Response:
        body = call.body
        if not body.message.strip():
            out = ChatResponse(reply=HINT, actions=[], conversation_id=body.conversation_id or "")
            return JSONResponse(out.model_dump())
        reply = await self.engine.handle(call.user, body.message, body.conversation_id, call.now)
        out = ChatResponse(
            reply=reply.reply, actions=reply.actions, conversation_id=reply.conversation_id
        )
        return JSONResponse(out.model_dump())

    def endpoints(self) -> list[Route]:
        return [
            Endpoint(
                "POST",
                f"{API}/chat",
                self.chat,
                "Talk to your tasks",
                body=ChatRequest,
                response=ChatResponse,
                admit=self._admit,
                tags=("chat",),
            )
        ]

"""Where the chat keeps its memory between turns: one kv row per conversation
(`chat|<user>|<conversation>`), readable only through its owner's id."""

from __future__ import annotations

import dataclasses

from functions.todo_api.chat.conversation import Memory
from shared.dapr import StateStore


def chat_key(user_id: str, conversation_id: str) -> str:
    return f"chat|{user_id}|{conversation_id}"


class ConversationStore:
    def __init__(self, kv: StateStore) -> None:
        self._kv = kv

    async def load(self, user_id: str, conversation_id: str) -> Memory:
        """The memory of that conversation; an empty one for a new (or unknown) id."""
        item = await self._kv.get(chat_key(user_id, conversation_id))
        return Memory.load(item.value if item else None)

    async def save(self, user_id: str, conversation_id: str, memory: Memory) -> None:
        await self._kv.save(chat_key(user_id, conversation_id), dataclasses.asdict(memory))

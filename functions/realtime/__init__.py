"""realtime: WebSocket gateway fanning out each user's `task-updates` and `reminders`."""

"""todo-api: REST, chat and web UI; the only writer of task state."""

"""The built-in chat: understands task requests offline and acts through the task service."""

"""recurring: when a repeating task is completed, asks todo-api for the next occurrence."""

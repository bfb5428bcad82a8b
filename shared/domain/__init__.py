"""Pure domain rules: no Dapr, HTTP, clock or I/O; the current time is always an argument."""

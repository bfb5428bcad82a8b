"""The local stack: bootstrap (install what is missing) and the launcher (one supervisor)."""

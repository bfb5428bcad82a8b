"""audit: stores every task and reminder event exactly once, keyed by event id."""

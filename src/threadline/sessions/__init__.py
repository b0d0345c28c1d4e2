"""The session lifecycle: drafts, materialization, the list, history rewrites, import/export, search."""

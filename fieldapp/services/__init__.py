"""Use cases the UI and CLI call. They take and return domain objects; no UI here."""

"""Demo records for `manage.py seed_demo` (idempotent)."""


def load(users: dict) -> None:
    """`users` maps each Role to its demo user."""

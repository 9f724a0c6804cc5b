from tests.accounts.resets import reset_queue  # noqa: F401

"""Helpers for password-reset tests."""


def run_password_resets() -> None:
    """Do what the worker does with the reset requests queued so far."""

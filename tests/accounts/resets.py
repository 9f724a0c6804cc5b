"""Password-reset requests queue a task; tests run it when they choose, as a worker would."""

import pytest


class ResetQueue:
    """The reset tasks requests queued (their `.delay` calls), run in this process on `run()`."""

    def __init__(self, monkeypatch):
        from apps.accounts.tasks import send_password_reset_task

        self.task = send_password_reset_task
        self.calls: list[tuple[tuple, dict]] = []
        monkeypatch.setattr(
            send_password_reset_task, "delay", lambda *args, **kwargs: self.calls.append((args, kwargs))
        )

    def run(self) -> None:
        calls, self.calls = self.calls, []
        for args, kwargs in calls:
            self.task(*args, **kwargs)


@pytest.fixture
def reset_queue(monkeypatch):
    return ResetQueue(monkeypatch)

import pytest

from apps.actions.models import CorrectiveAction
from tests.actions.factories import ActionFactory, advance

Status = CorrectiveAction.Status


@pytest.fixture
def action(staff):
    """An open action raised and owned by `staff`."""
    return ActionFactory(actor=staff, title="Late deliveries to Acme")


@pytest.fixture
def make_action(staff, quality_manager):
    """An action owned by `owner` (default `staff`) in the given status; the quality manager verifies."""

    def make(status: str = Status.OPEN, *, owner=None, **kwargs) -> CorrectiveAction:
        owner = owner or staff
        created = ActionFactory(actor=owner, owner=owner, **kwargs)
        return advance(created, status, worker=owner, verifier=quality_manager)

    return make

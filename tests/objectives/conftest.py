import pytest

from tests.objectives.factories import make_objective


@pytest.fixture
def objective(quality_manager, staff):
    """An active manual objective owned by `staff`, created by the quality manager."""
    return make_objective(actor=quality_manager, owner=staff)

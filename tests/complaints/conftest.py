import pytest

from tests.complaints.factories import make_complaint


@pytest.fixture
def make(quality_manager):
    """make(status=..., assignee=..., **complaint_create kwargs)."""

    def _make(**kwargs):
        kwargs.setdefault("qm", quality_manager)
        return make_complaint(**kwargs)

    return _make


@pytest.fixture
def complaint(make, staff):
    """A received complaint assigned to `staff`."""
    return make(assignee=staff)

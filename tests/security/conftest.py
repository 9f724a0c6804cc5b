import pytest

from tests.security.world import demo_world


@pytest.fixture
def world(db, settings, tmp_path):
    """The demo organisation: one record of every kind, as a quality department would have."""
    settings.MEDIA_ROOT = str(tmp_path)
    return demo_world()

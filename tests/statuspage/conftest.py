import pytest

from statuspage.cache import invalidate


@pytest.fixture(autouse=True)
def _fresh_status_page_cache():
    """Test databases roll back without a signal: start every test from a cold page cache."""
    invalidate()
    yield
    invalidate()

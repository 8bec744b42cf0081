from __future__ import annotations

import pytest


@pytest.fixture
def private_targets(settings):
    """Tests send to a real receiver on localhost, which production refuses."""
    settings.ARBOR_WEBHOOKS_ALLOW_PRIVATE = True
    settings.ARBOR_WEBHOOK_RETRY_BASE_SECONDS = 0
    return settings

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHORUS_PRIVATE_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT

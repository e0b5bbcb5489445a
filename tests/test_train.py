"""lateint.train: both heads train through one function, save and load back exactly, and refuse bad input.

Fast: a toy set of a few pairs, a few steps, mostly with only the top layer or the projection training.
"""
from __future__ import annotations

import json
import stat

import pytest
import torch
from helpers import DOCS, QUERIES, assert_same, assert_same_tokens, needs_pylate, pylate_encode

from lateint.files import current_umask
from lateint.data import BeirDataset, load_beir
from lateint.encoders import load_encoder
from lateint.index import maxsim_scores
from lateint.similarity import maxsim, maxsim_batch, pad
from lateint.data import subsample
from lateint.train.loop import TrainableHead
from lateint.train import Pair, evaluate_heads, init_head, score_heads, shared_frozen_layers, train, training_pairs

# Planted associations no pretrained model knows: a code name -> an unrelated sentence.
PLANTED = [
    ("operation juniper", "The harbour freezes over every January."),
    ("operation walnut", "Her grandmother taught mathematics for forty years."),
    ("operation cobalt", "A small bakery opened next to the train station."),
    ("operation saffron", "The violinist broke a string during the concert."),
    ("operation granite", "Volunteers planted three hundred oak trees."),
    ("operation lantern", "The satellite lost contact after a solar storm."),
]

TEXTS = ["Operation juniper, in the harbour!", "bananas and potassium"]


@pytest.fixture(scope="module")
def minilm(encoder):
    return encoder


@pytest.fixture(scope="module")
def planted():
    return [Pair(q, d) for q, d in PLANTED]


def _toy_dataset(split: str = "train", grade: int = 1) -> BeirDataset:
    corpus = {f"d{i}": {"title": "", "text": d} for i, (_, d) in enumerate(PLANTED)}
    corpus["x"] = {"title": "", "text": "Operation juniper was planned in the harbour in January."}
    queries = {f"q{i}": q for i, (q, _) in enumerate(PLANTED)}
    qrels = {f"q{i}": {f"d{i}": grade} for i in range(len(PLANTED))}
    return BeirDataset("toy", corpus, queries, qrels, split=split)


def _ranks_first(head, pairs) -> int:
    """How many queries score their own positive above every other pair's positive."""
    scores = head.scores([p.query for p in pairs], [p.positive for p in pairs])
    return int((scores.argmax(dim=1) == torch.arange(len(pairs))).sum())


# ------------------------------------------------------------------ zero steps = zero-shot


@pytest.mark.slow
def test_zero_steps_is_zero_shot_for_both_heads(minilm):
    texts = ["which fruit has potassium?", "Bananas are rich in potassium, and Paris is in France."]
    pooled = init_head("pooled", encoder=minilm).encoder
    assert torch.equal(pooled.encode_pooled(texts), minilm.encode_pooled(texts))
    for dim in (None, 384):  # no projection, or the identity
        late = init_head("late", encoder=minilm, dim=dim).encoder
        for a, b in zip(late.encode_queries(texts), minilm.encode_queries(texts)):
            assert torch.equal(a, b)
        for a, b in zip(late.encode_documents(texts), minilm.encode_documents(texts)):
            assert torch.equal(a, b)


def test_a_smaller_projection_starts_as_lesson_03s_random_projection(minilm):
    from lateint.lessons.colbertize import project, random_projection

    texts = ["a short document about potassium"]
    late = init_head("late", encoder=minilm, dim=64, seed=3).encoder
    expected = project(minilm.encode_documents(texts, normalize=False), random_projection(384, 64, seed=3))
    torch.testing.assert_close(late.encode_documents(texts)[0], expected[0])


# ------------------------------------------------------------------ training


def test_loss_falls_on_a_tiny_set(minilm, planted):
    head = train(planted, "late", encoder=minilm, steps=12, batch_size=6, train_layers="projection", dim=64,
                 show_progress=False)
    assert len(head.losses) == 12
    assert sum(head.losses[-3:]) / 3 < 0.7 * sum(head.losses[:3]) / 3


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pooled", "late"])
def test_a_trained_head_ranks_its_planted_positives_first(minilm, planted, kind):
    before = init_head(kind, encoder=minilm)
    assert _ranks_first(before, planted) < len(planted)  # zero-shot does not know the code names
    head = train(planted, kind, encoder=minilm, steps=15, batch_size=6, train_layers=1, lr=1e-3, show_progress=False)
    assert _ranks_first(head, planted) == len(planted)


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(minilm, planted):
    runs = [train(planted, "late", encoder=minilm, steps=3, batch_size=3, train_layers=1, dim=32, seed=7,
                  show_progress=False) for _ in range(2)]
    assert runs[0].losses == runs[1].losses
    assert torch.equal(runs[0].encoder.projection.layers[0].linear.weight, runs[1].encoder.projection.layers[0].linear.weight)
    other = train(planted, "late", encoder=minilm, steps=3, batch_size=3, train_layers=1, dim=32, seed=8,
                  show_progress=False)
    assert other.losses != runs[0].losses


def test_training_leaves_the_starting_encoder_alone(minilm, planted):
    before = minilm.encode_pooled(["operation juniper"])
    train(planted, "pooled", encoder=minilm, steps=2, batch_size=6, train_layers=1, show_progress=False)
    assert torch.equal(minilm.encode_pooled(["operation juniper"]), before)


def test_cached_frozen_layers_give_the_full_forward_pass(minilm):
    head = init_head("late", encoder=minilm, markers=True, query_augmentation=True)
    texts = ["a query", "a much longer query about potassium in bananas"]
    trainable = TrainableHead(head, 2)
    head.encoder.model.eval()  # no dropout, to compare with the encoder
    with torch.no_grad():
        vecs, _, keep = trainable.token_vectors(texts, is_query=True)
    expected = head.encoder.encode_queries(texts)
    for v, k, e in zip(torch.nn.functional.normalize(vecs, dim=-1), keep, expected):
        torch.testing.assert_close(v[k], e, atol=1e-5, rtol=1e-4)
    trainable.finish()


def test_training_and_search_share_one_maxsim_with_gradients():
    """Training scores with lateint.similarity.maxsim_batch: the reference maxsim's numbers, 0/1 integer masks accepted,
    and the gradient MaxSim has: each query token is pulled toward the document token it picked."""
    g = torch.Generator().manual_seed(0)
    qs = [torch.randn(n, 8, generator=g) for n in (3, 5)]
    ds = [torch.randn(n, 8, generator=g) for n in (4, 7, 2)]
    (Q, qm), (D, dm) = pad(qs), pad(ds)
    Q.requires_grad_(True)
    batched = maxsim_batch(Q, D, qm.long(), dm.long())  # 0/1 integer masks, as a tokenizer gives
    expected = torch.tensor([[maxsim(q, d) for d in ds] for q in qs])
    torch.testing.assert_close(batched.detach(), expected)
    torch.testing.assert_close(maxsim_scores(Q.detach(), D, qm, dm), expected)
    (grad,) = torch.autograd.grad(batched.sum(), Q)
    for i, q in enumerate(qs):
        picked = sum(d[(q @ d.T).argmax(dim=1)] for d in ds)  # (Lq, dim): the sum of each token's best matches
        torch.testing.assert_close(grad[i, : len(q)], picked)
        assert not grad[i, len(q):].any()  # padded query tokens get no gradient


def test_training_pairs_mine_bm25_negatives_that_are_not_judged():
    pairs = training_pairs(_toy_dataset(), hard_negatives=1)
    juniper = next(p for p in pairs if p.query == "operation juniper")
    assert juniper.negatives == ("Operation juniper was planned in the harbour in January.",)
    assert all(n != p.positive for p in pairs for n in p.negatives)
    assert training_pairs(_toy_dataset(), n=3, seed=1) == training_pairs(_toy_dataset(), n=6, seed=1)[:3]  # nested


# ------------------------------------------------------------------ save / load


@pytest.mark.parametrize(
    "kind, options",
    [("pooled", {}), ("late", {}), ("late", {"dim": 32, "markers": True, "query_augmentation": True, "skiplist": True})],
)
def test_save_load_round_trip_is_exact(minilm, planted, tmp_path, kind, options):
    head = train(planted, kind, encoder=minilm, steps=2, batch_size=3, train_layers=1, show_progress=False, **options)
    loaded = load_encoder(head.save(tmp_path / "model"), device="cpu")
    texts = TEXTS
    if kind == "pooled":
        assert loaded.format.kind == "huggingface"
        assert torch.equal(loaded.encode_pooled(texts), head.encoder.encode_pooled(texts))
        return
    assert loaded.format.kind == "pylate" and loaded.dim == head.encoder.dim
    assert loaded.query_tokens(texts) == head.encoder.query_tokens(texts)
    assert loaded.document_tokens(texts) == head.encoder.document_tokens(texts)
    for a, b in zip(loaded.encode_queries(texts) + loaded.encode_documents(texts),
                    head.encoder.encode_queries(texts) + head.encoder.encode_documents(texts)):
        assert torch.equal(a, b)


def test_a_saved_folder_has_its_own_card_no_local_path_and_umask_permissions(minilm, planted, tmp_path):
    head = train(planted, "late", encoder=minilm, steps=1, batch_size=3, train_layers="projection", dim=8,
                 show_progress=False)
    folder = head.save(tmp_path / "model")
    card = (folder / "README.md").read_text()
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card and "license: apache-2.0" in card
    assert "late-interaction" in card and "384 dimensional" not in card  # not the base model's card
    saved = json.loads((folder / "lateint_training.json").read_text())
    assert saved["dim"] == 8 and saved["steps_done"] == 1 and "base_folder" not in saved
    umask = current_umask()
    for p in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o777 if p.is_dir() else 0o666) & ~umask, p


@pytest.mark.slow(seconds=20)
@pytest.mark.filterwarnings(r"ignore:.*longer than the \d+-token limit")
def test_score_heads_scores_as_each_head_does_with_the_frozen_layers_run_once(minilm, planted, capsys):
    ds = subsample(load_beir("scifact"), n_queries=4, n_distractors=12, seed=0)
    heads = [init_head("late", encoder=minilm)] + [
        train(planted, kind, encoder=minilm, steps=3, batch_size=3, train_layers=2, lr=1e-3, show_progress=False)
        for kind in ("pooled", "late")]
    got = score_heads(heads, ds.query_texts, ds.doc_texts, frozen_layers=4, batch_size=5)
    want = [h.scores(ds.query_texts, ds.doc_texts) for h in heads]
    assert (want[2] - want[0]).abs().max() > 1e-3  # the trained late head really differs from the untrained one
    for g, w in zip(got, want):
        assert g.shape == w.shape == (4, len(ds.doc_texts))
        torch.testing.assert_close(g, w, atol=1e-4, rtol=1e-5)
    metrics = evaluate_heads(heads, ds, ["ndcg@10", "recall@10"], frozen_layers=4)
    assert metrics == [h.evaluate(ds, ["ndcg@10", "recall@10"], show_progress=False) for h in heads]
    # without frozen_layers: what their training left frozen (top 2 of 6 trained: 4), and a bar per head if asked
    assert shared_frozen_layers(heads) == 4 and shared_frozen_layers(heads[:1]) == 5
    capsys.readouterr()
    again = score_heads(heads, ds.query_texts, ds.doc_texts, batch_size=5, show_progress=True)
    assert all(torch.equal(a, g) for a, g in zip(again, got))
    assert "late head, documents" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_heads_refuses_heads_that_share_no_frozen_layers(minilm, planted):
    ds = subsample(load_beir("scifact"), n_queries=2, n_distractors=3, seed=0)
    late = init_head("late", encoder=minilm)
    everything = train(planted, "late", encoder=minilm, steps=1, batch_size=3, train_layers="all", show_progress=False)
    with pytest.raises(ValueError, match="below layer 4"):
        evaluate_heads([late, everything], ds, frozen_layers=4)
    with pytest.raises(ValueError, match=r"heads\[1\] trained every layer"):
        evaluate_heads([late, everything], ds)  # left to find the shared layers itself: says there are none
    with pytest.raises(ValueError, match="tokenize documents differently"):
        evaluate_heads([late, init_head("late", encoder=minilm, markers=True)], ds, frozen_layers=4)
    with pytest.raises(ValueError, match="frozen_layers must be"):
        evaluate_heads([late], ds, frozen_layers=6)
    with pytest.raises(ValueError, match="no heads"):
        score_heads([], ["a query"], ["a document"], frozen_layers=4)


def test_overwrite_replaces_a_folder_even_after_a_crashed_save_left_its_old_copy(minilm, planted, tmp_path):
    head = train(planted, "late", encoder=minilm, steps=1, batch_size=3, train_layers="projection", dim=8,
                 show_progress=False)
    folder = head.save(tmp_path / "model")
    stale = tmp_path / ".model.old"  # what a crash between save()'s two renames leaves behind
    stale.mkdir()
    (stale / "README.md").write_text("an older save")
    head.save(folder, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert torch.equal(load_encoder(folder, device="cpu").encode_queries(TEXTS)[0], head.encoder.encode_queries(TEXTS)[0])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*truncated")
def test_a_saved_pooled_head_is_what_sentence_transformers_encodes(minilm, planted, tmp_path):
    """The pooled folder is a plain sentence-transformers model: SentenceTransformer(folder) gives the head's vectors."""
    from sentence_transformers import SentenceTransformer

    head = train(planted, "pooled", encoder=minilm, steps=2, batch_size=3, train_layers=1, show_progress=False)
    folder = head.save(tmp_path / "model")
    texts = [*TEXTS, " ".join(f"word{i}, and more." for i in range(150))]  # the last one is cut at 256 tokens
    ours = head.encoder.encode_pooled(texts)
    assert (ours - minilm.encode_pooled(texts)).abs().max() > 1e-4  # trained: not the base model
    theirs = SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_tensor=True)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(load_encoder(folder, device="cpu").encode_pooled(texts), ours, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
@needs_pylate
@pytest.mark.filterwarnings("ignore:.*truncated")
@pytest.mark.parametrize("options", [{}, {"dim": 32, "markers": True, "query_augmentation": True, "skiplist": True}])
def test_a_saved_late_head_is_what_pylate_encodes(minilm, planted, tmp_path, options):
    """PyLate's models.ColBERT reads the saved folder (in its own Python) with lateint's tokens, vectors and scores."""
    head = train(planted, "late", encoder=minilm, steps=2, batch_size=3, train_layers=1, show_progress=False, **options)
    folder = head.save(tmp_path / "model")
    ref_q, ref_d, info = pylate_encode(folder, tmp_path)
    assert info["modules"] == ["Transformer", "Dense"]
    assert info["do_query_expansion"] == bool(options) and info["query_prefix_id"] == (1 if options else None)
    for enc in (load_encoder(folder, device="cpu"), head.encoder):
        assert_same_tokens(enc, info)
        q, d = enc.encode_queries(QUERIES), enc.encode_documents(DOCS)
        assert_same(q, ref_q)
        assert_same(d, ref_d)
        torch.testing.assert_close(maxsim_scores(q, d), maxsim_scores(ref_q, ref_d), atol=1e-5, rtol=1e-5)


def test_save_refuses_to_overwrite_and_leaves_no_partial_folder(minilm, tmp_path, monkeypatch):
    import lateint.train.export as export

    head = init_head("pooled", encoder=minilm)
    target = head.save(tmp_path / "m")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        head.save(target)

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(export, "_save_backbone", broken)
    with pytest.raises(OSError, match="disk full"):
        head.save(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


# ------------------------------------------------------------------ bad input


def test_bad_input_gets_a_clear_error(minilm, planted, tmp_path):
    ds = _toy_dataset()
    with pytest.raises(ValueError, match="between 1 and the 6 training queries"):
        training_pairs(ds, n=7)
    with pytest.raises(ValueError, match="split='test'"):
        training_pairs(_toy_dataset(split="test"))
    with pytest.raises(ValueError, match="no relevant document"):
        training_pairs(_toy_dataset(grade=0))
    for steps in (0, -3):
        with pytest.raises(ValueError, match="steps must be a positive int.*init_head"):
            train(planted, "late", encoder=minilm, steps=steps)
    with pytest.raises(ValueError, match="no training pairs"):
        train([], "late", encoder=minilm, steps=1)
    with pytest.raises(ValueError, match="exactly one of steps"):
        train(planted, "late", encoder=minilm)
    with pytest.raises(ValueError, match="non-empty string"):
        Pair("a query", "")
    with pytest.raises(ValueError, match="dim must be between 1 and the backbone's hidden size 384"):
        init_head("late", encoder=minilm, dim=512)
    with pytest.raises(ValueError, match="pooled head has one mean-pooled vector"):
        init_head("pooled", encoder=minilm, dim=128)
    with pytest.raises(ValueError, match="has no projection"):
        train(planted, "late", encoder=minilm, steps=1, train_layers="projection")
    with pytest.raises(ValueError, match="Unknown head"):
        init_head("cls", encoder=minilm)

    folder = tmp_path / "toy"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d0", "text": "a document"}\n')
    (folder / "queries.jsonl").write_text('{"_id": "q0", "text": "a query"}\n')
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\n")
    with pytest.raises(ValueError, match="no split 'dev'.*available splits: train"):
        load_beir("toy", split="dev", data_dir=tmp_path)

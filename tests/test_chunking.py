"""Chunking as a baseline: token and sentence chunks, best-chunk scoring, documents (not chunks) returned."""
import pytest
import torch

from lateint.chunking import ChunkIndex, best_chunk, best_chunk_fast, chunk_spans, sentence_chunks, split_sentences, token_chunks
from lateint.encoders import load_encoder

DOCS = [
    "Aspirin reduces fever. It also thins the blood, which lowers the risk of stroke. Dr. Lee wrote that in 1999.",
    "The Eiffel Tower is in Paris.",
    " ".join(f"Sentence number {i} is about cells." for i in range(30)),
]


@pytest.fixture(scope="module")
def enc():
    return load_encoder(device="cpu")


def test_chunk_spans_step_by_size_minus_overlap_and_keep_the_last_partial_chunk():
    assert chunk_spans(10, 4, 0) == [(0, 4), (4, 8), (8, 10)]  # last partial chunk kept
    assert chunk_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert chunk_spans(3, 4, 2) == [(0, 3)]
    spans = chunk_spans(1000, 64, 16)
    assert all(b - a == 64 for a, b in spans[:-1]) and spans[-1][1] == 1000
    assert all(spans[i + 1][0] == spans[i][1] - 16 for i in range(len(spans) - 1))


@pytest.mark.parametrize("size, overlap, match", [(0, 0, "positive"), (-3, 0, "positive"), (8, 8, "smaller than the chunk size"),
                                                   (8, 9, "smaller than the chunk size"), (8, -1, "0 or more")])
def test_bad_chunk_size_or_overlap_is_refused(enc, size, overlap, match):
    with pytest.raises(ValueError, match=match):
        chunk_spans(100, size, overlap)
    with pytest.raises(ValueError, match=match):
        token_chunks(enc, DOCS, size, overlap)


def test_token_chunks_cover_each_document_and_map_back_to_it(enc):
    chunks = token_chunks(enc, DOCS, size=16, overlap=4)
    counts = enc.token_counts(DOCS)
    for d, text in enumerate(DOCS):
        mine = [c for c in chunks if c.doc == d]
        assert [c.index for c in mine] == list(range(len(mine)))
        assert mine[0].start == 0 and mine[-1].end == counts[d] - 2  # all text tokens ([CLS], [SEP] aside)
        for c in mine:
            assert c.text == text[c.char_start : c.char_end] and c.n_tokens <= 16
            assert len(enc.tokenizer(c.text, add_special_tokens=False)["input_ids"]) == c.n_tokens
    assert token_chunks(enc, ["tiny"], size=100)[0].text == "tiny"


def test_sentence_chunks_end_at_sentence_ends_and_respect_the_budget(enc):
    assert [DOCS[0][a:b] for a, b in split_sentences(DOCS[0])] == [
        "Aspirin reduces fever.", "It also thins the blood, which lowers the risk of stroke.", "Dr. Lee wrote that in 1999."]
    one_each = sentence_chunks(enc, DOCS[:1], max_tokens=14)
    assert [c.text for c in one_each] == ["Aspirin reduces fever.", "It also thins the blood, which lowers the risk of stroke.",
                                          "Dr. Lee wrote that in 1999."]
    packed = sentence_chunks(enc, DOCS, max_tokens=40)
    assert all(c.n_tokens <= 40 for c in packed)
    assert all(c.text.endswith(".") for c in packed)
    assert sum(c.doc == 2 for c in packed) < 30  # several sentences per chunk
    cut = sentence_chunks(enc, [DOCS[0]], max_tokens=5)  # a sentence longer than the budget is cut
    assert all(c.n_tokens <= 5 for c in cut) and cut[-1].end == enc.token_counts([DOCS[0]])[0] - 2


def test_empty_documents_are_refused(enc):
    for chunker in (lambda t: token_chunks(enc, t, 8), lambda t: sentence_chunks(enc, t)):
        with pytest.raises(ValueError, match="empty or only whitespace"):
            chunker(["fine", "  "])


def test_best_chunk_fast_equals_the_readable_version_ties_included():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 30, generator=g).round(decimals=1)  # ties
    chunk_doc = torch.randint(0, 7, (30,), generator=g)
    chunk_doc[:7] = torch.arange(7)
    ref, ref_win = best_chunk(scores, chunk_doc, 7)
    got, got_win = best_chunk_fast(scores, chunk_doc, 7)
    torch.testing.assert_close(got, ref)
    assert torch.equal(got_win, ref_win)
    assert torch.equal(scores.gather(1, ref_win), ref)
    with pytest.raises(ValueError, match="no chunk"):
        best_chunk(scores, chunk_doc, 8)
    with pytest.raises(ValueError, match="at least one chunk"):
        best_chunk_fast(scores, chunk_doc, 8)


def test_chunk_index_returns_documents_once_with_the_winning_chunk(enc):
    ids = ["aspirin", "eiffel", "cells"]
    index = ChunkIndex.from_texts(enc, ids, DOCS, lambda e, t: token_chunks(e, t, 8, 2))
    assert index.chunks_per_doc > 2 and index.bytes_per_doc == index.chunks_per_doc * 384 * 4
    q = enc.encode_pooled(["what lowers the risk of stroke?"], is_query=True)
    (hits,) = index.search_chunks(q, k=3)
    assert [d for d, _, _ in hits][0] == "aspirin" and len({d for d, _, _ in hits}) == 3  # no duplicates
    doc, score, chunk = hits[0]
    assert "stroke" in chunk.text and chunk.doc == 0
    assert score == pytest.approx(float(torch.nn.functional.normalize(enc.encode_pooled([chunk.text]), dim=-1) @ q[0]), abs=1e-5)
    assert index.search(q, k=3)[0] == [(d, s) for d, s, _ in hits]
    run = index.run(q, ["q1"], k=2)
    assert list(run["q1"]) == [d for d, _, _ in hits[:2]]


def test_a_saved_chunk_index_loads_back_with_its_chunks_and_scores(enc, tmp_path):
    from lateint import load_index

    ids = ["aspirin", "eiffel", "cells"]
    docs = [*DOCS[:2], DOCS[2] + " Ünïcödé — 東京 ✓"]  # chunk texts round-trip as UTF-8, not as ASCII
    index = ChunkIndex.from_texts(enc, ids, docs, lambda e, t: token_chunks(e, t, 8, 2))
    back = load_index(index.save(tmp_path / "chunks.safetensors"))
    assert isinstance(back, ChunkIndex) and back.doc_ids == ids and back.chunks == index.chunks
    assert "東京" in back.chunks[-1].text or "東京" in back.chunks[-2].text
    q = enc.encode_pooled(["what lowers the risk of stroke?", "where is the tower?"], is_query=True)
    assert torch.allclose(back.scores(q), index.scores(q), atol=1e-6)
    assert back.search_chunks(q, k=3) == index.search_chunks(q, k=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.safetensors"]  # written atomically, nothing else


def test_an_empty_chunk_index_round_trips(tmp_path):
    from lateint import load_index

    empty = ChunkIndex(["a"], [], torch.zeros(0, 4))
    back = load_index(empty.save(tmp_path / "empty.safetensors"))
    assert back.chunks == [] and back.vectors.shape == (0, 4) and back.doc_ids == ["a"]

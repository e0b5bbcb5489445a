"""agent.py: rule-based decompose / read, the loop's trace, and the searchers."""
import pytest
import torch

from lateint import load_encoder
from lateint.lessons.agent import (
    Trace,
    agent_run,
    decompose,
    missed,
    read_entity,
    trace_question,
    searcher,
)
from lateint.compare import encode_corpus
from lateint.evaluate import evaluate
from lateint.lessons.failures import multihop_dataset, success_at_k
from lateint.index import MaxSimIndex

TEXTS = {
    "mara-owns": "Mara owns the red bicycle.",
    "mara-plays": "Mara plays the oboe.",
    "tomas-owns": "Tomas owns the green canoe.",
    "tomas-plays": "Tomas plays the cello.",
}


def overlap_search(query, k):
    """A stand-in retriever: documents ranked by words shared with the query (plural s ignored)."""

    def words(text):
        return {w.rstrip("s") for w in text.lower().strip("?.").split()}

    scored = [(d, float(len(words(query) & words(t)))) for d, t in TEXTS.items()]
    return sorted(scored, key=lambda x: -x[1])[:k]


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Which instrument does the person who owns the red bicycle play?",
         ("Who owns the red bicycle?", "Which instrument does {entity} play?")),
        ("In which town does the person who plays the oboe live?",
         ("Who plays the oboe?", "In which town does {entity} live?")),
        ("Where does the one who sold the big old house work ?",
         ("Who sold the big old house?", "Where does {entity} work?")),
        ("Who owns the red bicycle?", None),
    ],
)
def test_decompose(question, expected):
    assert decompose(question) == expected


def test_read_entity_skips_function_words_and_known_names():
    assert read_entity("Mara owns the red bicycle.", "Who owns the red bicycle?") == "Mara"
    assert read_entity("The red bicycle belongs to Mara Lind.", "Who owns it?") == "Mara Lind"
    assert read_entity("In Porto, Tomas plays.", "Who plays in Porto?") == "Tomas"
    assert read_entity("nobody here has a name.", "Who?") is None


def test_run_agent_trace_by_hand():
    trace = trace_question("Which instrument does the person who owns the red bicycle play?", overlap_search, TEXTS)
    assert isinstance(trace, Trace) and trace.entity == "Mara"
    assert [s.query for s in trace.steps] == ["Who owns the red bicycle?", "Which instrument does Mara play?"]
    assert trace.retrieved == ["mara-owns", "mara-plays"]
    text = str(trace)
    assert "hop 1" in text and "hop 2" in text and "read entity 'Mara'" in text
    plain = trace_question("red bicycle owner", overlap_search, TEXTS, k=2)
    assert len(plain.steps) == 1 and "no rule matched" in plain.steps[0].note
    nameless = {d: t.lower() for d, t in TEXTS.items()}
    stuck = trace_question("Which instrument does the person who owns the red bicycle play?", overlap_search, nameless)
    assert len(stuck.steps) == 1 and stuck.entity is None and "stopping" in stuck.steps[0].note
    with pytest.raises(ValueError, match="k must be"):
        trace_question("q?", overlap_search, TEXTS, k=0)


def test_agent_beats_one_shot_bm25_on_the_multihop_set():
    ds = multihop_dataset()
    search = searcher("bm25", ds.doc_ids, ds.doc_texts)
    run, traces = agent_run(ds, search, k=1)
    assert len(traces) == 20 and all(len(t.steps) == 2 for t in traces)
    for qid, trace in zip(ds.query_ids, traces):
        assert list(run[qid]) == trace.retrieved  # the run keeps the order of retrieval
    failures = missed(ds, traces)
    assert len(failures) == round(20 * (1 - success_at_k(run, ds.qrels, 2)))
    assert all(not set(ds.qrels[q]) <= set(t.retrieved) for q, t in zip(ds.query_ids, traces) if t in failures)
    with pytest.raises(ValueError, match="traces for 20 queries"):
        missed(ds, traces[:3])
    one_shot = {qid: dict(search(q, 2)) for qid, q in ds.queries.items()}
    assert success_at_k(run, ds.qrels, 2) > success_at_k(one_shot, ds.qrels, 2)
    assert evaluate(run, ds.qrels, ["recall@2"])["recall@2"] > evaluate(one_shot, ds.qrels, ["recall@2"])["recall@2"]


def test_dense_searchers_agree_with_the_indexes(stanford_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    enc = load_encoder(stanford_ckpt, device="cpu")
    ids, texts = list(TEXTS), list(TEXTS.values())
    got = searcher("maxsim", ids, texts, enc)("who plays the cello?", 3)
    index = MaxSimIndex(ids, enc.encode_documents(texts))
    expected = index.search(enc.encode_queries(["who plays the cello?"]), 3)[0]
    assert [d for d, _ in got] == [d for d, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-4)
    pooled = searcher("pooled", ids, texts, enc)("who plays the cello?", 4)
    q = encode_corpus(enc, ["who plays the cello?"], "queries", cache=False)["pooled"]
    d = encode_corpus(enc, texts, "documents", cache=False)["pooled"]
    best = ids[int(torch.argmax(d @ q[0]))]
    assert pooled[0][0] == best and len(pooled) == 4
    with pytest.raises(ValueError, match="needs an encoder"):
        searcher("maxsim", ids, texts)
    with pytest.raises(ValueError, match="Unknown method"):
        searcher("splade", ids, texts, enc)

"""agent.py: rule-based decompose / read, the loop's trace, and the searchers."""
import pytest
import torch

from lateint import load_encoder
from lateint.lessons.agent import (
    Decomposer,
    Feedback,
    OneSearch,
    RuleDecomposer,
    WithFallback,
    Trace,
    agent_run,
    decompose,
    missed,
    read_entity,
    trace_question,
    searcher,
)
from lateint.comparison import encode_corpus
from lateint.metrics import evaluate
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
    assert isinstance(trace, Trace) and trace.calls == 2 and trace.seconds > 0
    assert [s.query for s in trace.steps] == ["Who owns the red bicycle?", "Which instrument does Mara play?"]
    assert [s.note for s in trace.steps] == ["read entity 'Mara'", ""] and trace.stopped == "nothing more to ask"
    assert trace.retrieved == ["mara-owns", "mara-plays"]
    text = str(trace)
    assert "hop 1" in text and "hop 2" in text and "read entity 'Mara'" in text and "stopped" not in text
    plain = trace_question("red bicycle owner", overlap_search, TEXTS, k=2)
    assert plain.calls == 1 and plain.steps[0].note == "no rule matched: one plain search" and len(plain.retrieved) == 2
    nameless = {d: t.lower() for d, t in TEXTS.items()}
    stuck = trace_question("Which instrument does the person who owns the red bicycle play?", overlap_search, nameless)
    assert stuck.calls == 1 and stuck.steps[0].note == "read no entity: stopping"
    with pytest.raises(ValueError, match="k must be"):
        trace_question("q?", overlap_search, TEXTS, k=0)
    with pytest.raises(ValueError, match="max_calls must be"):
        trace_question("q?", overlap_search, TEXTS, max_calls=0)


class Scripted:
    """A stand-in for a language-model decomposer: fixed first queries, then one follow-up
    built from the texts it is shown; it records what the loop passed to it."""

    def __init__(self, first):
        self.first, self.seen = first, []

    def __call__(self, question):
        return list(self.first)

    def follow_up(self, question, found):
        self.seen.append([(q, list(texts)) for q, texts in found])
        name = found[0][1][0].split()[0]
        return [f"what does {name} play"] if len(found) == len(self.first) else []


def test_any_decomposer_plugs_into_the_loop():
    for d in (RuleDecomposer(), OneSearch(), Feedback(), Scripted(["owns red bicycle"])):
        assert isinstance(d, Decomposer)
    llm = Scripted(["owns red bicycle", "owns green canoe"])
    trace = trace_question("anything", overlap_search, TEXTS, decomposer=llm, max_calls=5)
    assert [s.query for s in trace.steps] == ["owns red bicycle", "owns green canoe", "what does Mara play"]
    # follow_up is asked once the planned queries are done, with every text found so far, in order
    assert llm.seen[0] == [("owns red bicycle", [TEXTS["mara-owns"]]), ("owns green canoe", [TEXTS["tomas-owns"]])]
    assert trace.retrieved == ["mara-owns", "tomas-owns", "mara-plays"] and trace.stopped == "nothing more to ask"
    capped = trace_question("anything", overlap_search, TEXTS, decomposer=llm, max_calls=2)
    assert capped.calls == 2 and capped.stopped == "the budget of 2 searches is spent"
    assert "stopped: the budget of 2 searches is spent" in str(capped)
    assert all(s.note == "" for s in capped.steps)  # a plain list carries no note

    class Broken(OneSearch):
        def follow_up(self, question, found):
            return "mara"  # a string, not a list of strings

    with pytest.raises(TypeError, match="follow_up must return a list of non-empty strings"):
        trace_question("q", overlap_search, TEXTS, decomposer=Broken())
    with pytest.raises(TypeError, match="__call__ must return"):
        trace_question("q", overlap_search, TEXTS, decomposer=Scripted([""]))


def test_feedback_reformulates_with_the_best_text_and_new_only_skips_seen_documents():
    trace = trace_question("Who owns the red bicycle?", overlap_search, TEXTS, decomposer=Feedback(), max_calls=3)
    assert [s.query for s in trace.steps][:2] == ["Who owns the red bicycle?", "Who owns the red bicycle? " + TEXTS["mara-owns"]]
    assert trace.calls == 3 and trace.stopped == "the budget of 3 searches is spent"
    assert trace.retrieved == ["mara-owns"]  # every search finds the same best document again
    fresh = trace_question("Who owns the red bicycle?", overlap_search, TEXTS, decomposer=Feedback(), max_calls=3,
                           new_only=True)
    assert fresh.retrieved[0] == "mara-owns" and len(fresh.retrieved) == 3 and fresh.calls == 3
    assert all(len(s.results) == 1 for s in fresh.steps)
    nested = "Which instrument does the person who owns the red bicycle play?"
    unsplit = trace_question("red bicycle owner", overlap_search, TEXTS, decomposer=WithFallback(), new_only=True)
    assert [s.query for s in unsplit.steps] == ["red bicycle owner"] * 2 and len(unsplit.retrieved) == 2
    assert unsplit.retrieved == [d for d, _ in overlap_search("red bicycle owner", 2)]
    split = trace_question(nested, overlap_search, TEXTS, decomposer=WithFallback(RuleDecomposer()), new_only=True)
    assert [s.query for s in split.steps] == ["Who owns the red bicycle?", "Which instrument does Mara play?"]
    once = trace_question("Which instrument does the person who owns the red bicycle play?", overlap_search, TEXTS,
                          decomposer=OneSearch(), k=2)
    assert once.calls == 1 and [s.query for s in once.steps] == [once.question]


def test_agent_beats_one_shot_bm25_on_the_multihop_set(capsys):
    ds = multihop_dataset()
    search = searcher("bm25", ds.doc_ids, ds.doc_texts)
    run, traces = agent_run(ds, search, k=1)
    assert "questions" not in capsys.readouterr().err
    shown, shown_traces = agent_run(ds, search, k=1, show_progress=True)  # a bar over the questions, nothing else changed
    assert shown == run and [t.retrieved for t in shown_traces] == [t.retrieved for t in traces]
    assert "questions: 100%" in (bar := capsys.readouterr().err) and "20/20" in bar
    agent_run(ds, search, k=1, show_progress="bm25")  # a named bar, for several runs in one cell
    assert "bm25: questions: 100%" in capsys.readouterr().err
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


def test_the_documented_llm_decomposer_runs_with_a_stand_in_model():
    import textwrap

    example = textwrap.dedent(Decomposer.__doc__.split("::", 1)[1])
    prompts = []

    def my_model(prompt):  # a "language model" that answers the two prompts of the example
        prompts.append(prompt)
        if "Write the search queries to run first" in prompt:
            return "Who owns the red bicycle?\n"
        return "" if "Mara plays" in prompt else "Which instrument does Mara play?\n\n"

    scope = {"trace_question": trace_question, "search": overlap_search, "texts": TEXTS, "my_model": my_model,
             "question": "Which instrument does the person who owns the red bicycle play?"}
    exec(example.replace("trace_question(question", "trace = trace_question(question"), scope)
    trace = scope["trace"]
    assert [s.query for s in trace.steps] == ["Who owns the red bicycle?", "Which instrument does Mara play?"]
    assert isinstance(scope["LLMDecomposer"](my_model), Decomposer)
    assert "found: " + TEXTS["mara-owns"] in prompts[1]  # the follow-up prompt shows what was read

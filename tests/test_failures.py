"""failures.py: the probe corpora, pair outcomes, success@k and the LIMIT attribute cut."""
import re

import pytest

from lateint.bm25 import BM25
from lateint.data import BeirDataset, load_beir, subsample
from lateint.lessons.failures import (
    identifier_probe,
    limit_attributes,
    multihop_dataset,
    negation_probe,
    pair_outcomes,
    success_at_k,
)


@pytest.mark.parametrize("make", [negation_probe, identifier_probe])
def test_pair_probes_hold_twins_that_differ_in_one_place(make):
    probe = make()
    ds = probe.dataset
    assert len(ds.corpus) == 24 and len(ds.queries) == 24
    for qid, (right, wrong) in probe.twins.items():
        assert ds.qrels[qid] == {right: 1} and probe.twins[f"q-{wrong}"] == (wrong, right)
        a, b = ds.corpus[right]["text"].split(), ds.corpus[wrong]["text"].split()
        if make is negation_probe:
            longer, shorter = (a, b) if len(a) > len(b) else (b, a)
            assert "not" in longer and [w for w in longer if w != "not"] == shorter
        else:
            assert len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1
    # filler makes the documents longer but keeps the pair difference
    padded = make(n_filler=5)
    for qid, (right, wrong) in padded.twins.items():
        short = ds.corpus[right]["text"]
        assert short in padded.dataset.corpus[right]["text"]
        assert len(padded.dataset.corpus[right]["text"]) > 3 * len(short)
        both = padded.dataset.corpus[right]["text"], padded.dataset.corpus[wrong]["text"]
        assert both[0].replace(short, "") == both[1].replace(ds.corpus[wrong]["text"], "")


def test_negation_probe_groups_and_bm25_cannot_see_not():
    probe = negation_probe()
    assert sorted(set(probe.groups.values())) == ["affirmative", "negated"]
    ds = probe.dataset
    run = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=24)
    counts = pair_outcomes(probe, run)
    # "not" is an English stopword: each pair's two documents get identical BM25 scores
    assert counts["all"] == {"right": 0, "tie": 24, "wrong": 0}
    assert counts["negated"]["tie"] == 12


def test_pair_outcomes_counts_by_hand():
    probe = identifier_probe()
    run = {}
    for i, (qid, (right, wrong)) in enumerate(probe.twins.items()):
        run[qid] = {right: 2.0, wrong: 1.0} if i < 10 else ({right: 1.0, wrong: 1.0} if i < 15 else {wrong: 3.0})
    counts = pair_outcomes(probe, run)
    assert counts["all"] == {"right": 10, "tie": 5, "wrong": 9}
    assert sum(sum(c.values()) for g, c in counts.items() if g != "all") == 24
    with pytest.raises(ValueError, match="no results for query"):
        pair_outcomes(probe, {})


def test_multihop_dataset_needs_two_documents_per_question():
    ds = multihop_dataset()
    assert len(ds.corpus) == 30 and len(ds.queries) == 20
    for qid, rels in ds.qrels.items():
        assert len(rels) == 2
        name = qid.split("-")[0]
        assert all(d.startswith(name + "-") for d in rels)
        # the person is named in the documents, never in the question
        assert name not in ds.queries[qid].lower()
        assert all(ds.corpus[d]["text"].lower().startswith(name) for d in rels)


def test_success_at_k_needs_every_relevant_document():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 0}}
    run = {"q1": {"a": 3.0, "x": 2.0, "b": 1.0}, "q2": {"c": 1.0}}
    assert success_at_k(run, qrels, 2) == pytest.approx(1 / 3)  # q1 lacks b in its top 2, q3 has nothing relevant
    assert success_at_k(run, qrels, 3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="k must be"):
        success_at_k(run, qrels, 0)


def _tiny_limit() -> BeirDataset:
    corpus = {
        "Ann Lee": {"title": "", "text": "Ann Lee likes Tea, Cats, Magic: The Gathering and Jazz."},
        "Bo Kim": {"title": "", "text": "Bo Kim likes Cats, Rain, Chess, Figs and Tea."},
    }
    queries = {"q0": "Who likes Jazz?", "q1": "Who likes Chess?"}
    return BeirDataset("limit-tiny", corpus, queries, {"q0": {"Ann Lee": 1}, "q1": {"Bo Kim": 1}})


def _likes(text):
    return re.fullmatch(r".+? likes (.+)\.", text).group(1).replace(" and ", ", ").split(", ")


def test_limit_attributes_keeps_what_is_asked_plus_n_others():
    ds = _tiny_limit()
    bare = limit_attributes(ds, 0)
    assert bare.corpus["Ann Lee"]["text"] == "Ann Lee likes Jazz."
    assert bare.corpus["Bo Kim"]["text"] == "Bo Kim likes Chess."
    two = limit_attributes(ds, 2, seed=1)
    for did, doc in two.corpus.items():
        items = _likes(doc["text"])
        original = _likes(ds.corpus[did]["text"])
        assert len(items) == 3 and items == [i for i in original if i in items]  # original order
    assert "Magic: The Gathering" in _likes(ds.corpus["Ann Lee"]["text"])
    assert limit_attributes(ds, 99).corpus == ds.corpus  # more than they have: the original documents
    assert limit_attributes(ds, 2, seed=1).corpus == two.corpus
    assert two.qrels == ds.qrels and two.queries == ds.queries


def test_limit_attributes_rejects_what_it_cannot_read():
    ds = _tiny_limit()
    with pytest.raises(ValueError, match="n_other"):
        limit_attributes(ds, -1)
    bad = BeirDataset("x", ds.corpus, {"q0": "Which cats?"}, {"q0": {"Ann Lee": 1}})
    with pytest.raises(ValueError, match="not a LIMIT query"):
        limit_attributes(bad, 1)
    wrong = BeirDataset("x", ds.corpus, {"q0": "Who likes Chess?"}, {"q0": {"Ann Lee": 1}})
    with pytest.raises(ValueError, match="does not list it"):
        limit_attributes(wrong, 1)


def test_limit_attributes_on_the_real_limit_small():
    try:
        ds = load_beir("limit-small", download=False)
    except FileNotFoundError:
        pytest.skip("LIMIT-small is not available offline here")
    sliced = subsample(ds, 50, 0, seed=0)
    cut = limit_attributes(sliced, 3, seed=0)
    for qid, text in cut.queries.items():
        item = text[len("Who likes "):-1]
        holders = {d for d, doc in cut.corpus.items() if item in _likes(doc["text"])}
        assert holders == set(cut.qrels[qid])  # judgements still exactly right


def test_recall_gap_by_hand():
    from lateint.lessons.failures import recall_gap

    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1, "d": 1}}
    runs = {"half": {"q1": {"a": 2.0, "x": 1.0}, "q2": {"c": 2.0, "d": 1.0}}}
    table = recall_gap(runs, qrels, 2)
    assert table["half"] == pytest.approx({"recall@2": 0.75, "all found@2": 0.5, "gap to perfect": 0.5})


def test_probe_outcomes_and_sweeps_with_bm25():
    from lateint.lessons.failures import (
        attribute_sweep,
        filler_sweep,
        outcome_rows,
        probe_outcomes,
    )

    outcomes = probe_outcomes(negation_probe(), methods=("bm25",))
    assert outcomes["bm25"]["all"] == {"right": 0, "tie": 24, "wrong": 0}
    rows = outcome_rows(outcomes, ["affirmative", "negated"])
    assert list(rows) == ["bm25 / affirmative", "bm25 / negated"] and rows["bm25 / negated"]["tie"] == 12
    assert filler_sweep(negation_probe, None, fillers=(0, 3), methods=("bm25",)) == {"bm25": [0, 0]}
    right = filler_sweep(identifier_probe, None, fillers=(0, 3), methods=("bm25",))["bm25"]
    assert len(right) == 2 and all(0 <= r <= 24 for r in right) and right[0] >= 20
    recall = attribute_sweep(_tiny_limit(), None, n_others=(0, 3), k=1, methods=("bm25",))
    assert recall == {"bm25": [1.0, 1.0]}  # each queried like is a unique word


def test_sweeps_show_progress_over_their_steps_without_changing_the_counts(capsys):
    from lateint.lessons.failures import attribute_sweep, filler_sweep

    quiet = filler_sweep(identifier_probe, None, fillers=(0, 3), methods=("bm25",))
    assert "identifier probe" not in capsys.readouterr().err
    assert filler_sweep(identifier_probe, None, fillers=(0, 3), methods=("bm25",), show_progress=True) == quiet
    bar = capsys.readouterr().err
    assert "identifier probe: 100%" in bar and "2/2" in bar  # one step per filler count
    quiet = attribute_sweep(_tiny_limit(), None, n_others=(0, 3, 5), k=1, methods=("bm25",))
    assert attribute_sweep(_tiny_limit(), None, n_others=(0, 3, 5), k=1, methods=("bm25",), show_progress=True) == quiet
    bar = capsys.readouterr().err
    assert "longer profiles: 100%" in bar and "3/3" in bar  # one step per profile length


@pytest.mark.filterwarnings("ignore:.*-token limit")  # the tiny checkpoint's queries hold 12 tokens
def test_probe_outcomes_dense_agree_with_pair_outcomes(stanford_ckpt, tmp_path, monkeypatch):
    from lateint import load_encoder
    from lateint.comparison import retrieve_all
    from lateint.lessons.failures import probe_outcomes

    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    enc = load_encoder(stanford_ckpt, device="cpu")
    probe = identifier_probe()
    got = probe_outcomes(probe, enc, ("maxsim",))
    run = retrieve_all(probe.dataset, enc, ("maxsim",), k=24)["maxsim"]
    assert got["maxsim"] == pair_outcomes(probe, run)
    assert sum(got["maxsim"]["all"].values()) == 24


def test_plot_outcomes_stacks_right_tie_wrong():
    import matplotlib

    matplotlib.use("Agg")
    from lateint.lessons.failures import plot_outcomes

    outcomes = {"bm25": {"all": {"right": 0, "tie": 24, "wrong": 0}}, "maxsim": {"all": {"right": 20, "tie": 0, "wrong": 4}}}
    ax = plot_outcomes(outcomes, "negation")
    widths = [round(p.get_width()) for p in ax.patches]
    assert widths == [0, 20, 24, 0, 0, 4]  # right, then tie, then wrong; one bar per method each
    assert ax.get_xlim() == (0, 24) and ax.get_title() == "negation"
    with pytest.raises(ValueError, match="no group 'negated'"):
        plot_outcomes(outcomes, "x", group="negated")

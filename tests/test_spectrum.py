"""spectrum.py (costs along the interaction spectrum, where MaxSim's score comes from) and its diagram."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lateint.comparison import retrieve_all  # noqa: E402
from lateint.data import BeirDataset  # noqa: E402
from lateint.display.colours import PICKED  # noqa: E402
from lateint.display.diagrams import (  # noqa: E402
    PICTURE_TITLES,
    SPECTRUM_TITLES,
    interaction_spectrum,
    pooled_vs_maxsim,
)
from lateint.metrics import evaluate  # noqa: E402
from lateint.similarity import Match, maxsim  # noqa: E402
from lateint.lessons.spectrum import (  # noqa: E402
    INTERACTIONS,
    EncoderSize,
    encoder_size,
    exact_match_ablation,
    format_costs,
    forward_macs,
    interaction_costs,
    match_kind,
    matched_maxsim_scores,
    mean_lengths,
    relevant_mass,
    score_mass,
    time_cross_encoding,
)


@pytest.fixture(scope="module")
def enc(encoder):
    return encoder


@pytest.fixture
def toy():
    corpus = {
        "d1": {"title": "", "text": "Folic acid taken in pregnancy prevents neural tube defects."},
        "d2": {"title": "", "text": "Domestic cats sleep for most of the day."},
        "d3": {"title": "", "text": "Vitamin D supports bone health in older adults."},
    }
    queries = {"q1": "folic acid and pregnancy", "q2": "why do cats sleep so much", "q3": "bone health"}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 0}, "q3": {"d3": 2}}
    return BeirDataset("toy", corpus=corpus, queries=queries, qrels=qrels)


# ------------------------------------------------------------------------------------- diagram


def test_interaction_spectrum_draws_three_labelled_panels():
    fig = interaction_spectrum()
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 3
        assert tuple(ax.get_title() for ax in fig.axes) == SPECTRUM_TITLES
        texts = [" ".join(t.get_text() for t in ax.texts).replace("\n", " ") for ax in fig.axes]
        assert "dot product" in texts[0] and "MaxSim" in texts[1] and "joint attention" in texts[2]
        assert all("(offline)" in t for t in texts[:2]) and "offline" not in texts[2]
        assert all(len(ax.patches) > 5 for ax in fig.axes)  # towers, tokens and arrows were drawn
    finally:
        plt.close(fig)


def _rows_of(ax, labels):
    """The y of each label's text in ``ax`` (the first text with that string at each position in order)."""
    texts = [t for t in ax.texts]
    out, start = [], 0
    for label in labels:
        i = next(k for k in range(start, len(texts)) if texts[k].get_text() == label)
        out.append(texts[i].get_position()[1])
        start = i + 1
    return out


def test_pooled_vs_maxsim_draws_each_query_tokens_argmax_in_the_picked_colour():
    gen = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(5, 8, generator=gen), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(9, 8, generator=gen), dim=-1)
    sim = q @ d.T
    q_tokens, d_tokens = [f"q{i}" for i in range(5)], [f"d{j}" for j in range(9)]
    pooled = float(torch.nn.functional.normalize(q.mean(0), dim=0) @ torch.nn.functional.normalize(d.mean(0), dim=0))
    fig = pooled_vs_maxsim(sim, pooled, q_tokens, d_tokens)
    try:
        assert len(fig.axes) == 2 and tuple(ax.get_title() for ax in fig.axes) == PICTURE_TITLES
        left, right = fig.axes
        q_y, d_y = _rows_of(right, q_tokens), _rows_of(right, d_tokens)
        picked = [line for line in right.lines if line.get_color() == PICKED and len(line.get_xdata()) == 2]
        drawn = sorted((q_y.index(line.get_ydata()[0]), d_y.index(line.get_ydata()[1])) for line in picked)
        assert drawn == list(enumerate(sim.argmax(dim=1).tolist()))  # one line per query token, to its argmax
        bottom = " ".join(t.get_text() for t in right.texts)
        assert f"= {sim.max(dim=1).values.sum():.2f}" in bottom  # MaxSim: the maxima summed
        assert f"= {pooled:.2f}" in " ".join(t.get_text() for t in left.texts)
        assert not any(line.get_color() == PICKED for line in left.lines)  # nothing is picked in one vector
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("sim", "pooled", "n_q", "n_d", "says"), [
    (torch.zeros(2, 3), 0.5, 3, 3, "query tokens"),
    (torch.zeros(2, 3), 0.5, 2, 4, "document tokens"),
    (torch.zeros(0, 3), 0.5, 0, 3, "non-empty"),
    (torch.full((2, 3), 2.0), 0.5, 2, 3, "between -1 and 1"),
    (torch.zeros(2, 3), float("nan"), 2, 3, "finite"),
    (torch.zeros(2, 30), 0.5, 2, 30, "similarity_heatmap"),
])
def test_pooled_vs_maxsim_refuses_what_it_cannot_draw(sim, pooled, n_q, n_d, says):
    with pytest.raises(ValueError, match=says):
        pooled_vs_maxsim(sim, pooled, [f"q{i}" for i in range(n_q)], [f"d{j}" for j in range(n_d)])


# ------------------------------------------------------------------------------------- costs

TINY = EncoderSize(layers=1, hidden=2, intermediate=4, dim=2)


def test_forward_macs_by_hand():
    # per token 4*2*2 + 2*2*4 = 32, times 3 tokens = 96; attention 2 * 3^2 * 2 = 36
    assert forward_macs(TINY, 3) == 132
    assert forward_macs(EncoderSize(2, 2, 4, 2), 3) == 264  # twice the layers, twice the work
    assert forward_macs(EncoderSize(1, 2, 4, 3), 3) == 132 + 3 * 2 * 3  # a projection to dim 3
    with pytest.raises(ValueError, match="n_tokens"):
        forward_macs(TINY, 0)
    with pytest.raises(ValueError, match="layers"):
        EncoderSize(0, 2, 4, 2)


def test_interaction_costs_by_hand():
    t = interaction_costs(TINY, n_docs=10, doc_tokens=5, query_tokens=3)
    pooled, late, cross = (t[name] for name in INTERACTIONS)
    assert [r["index passes"] for r in (pooled, late, cross)] == [10, 10, 0]
    assert pooled["index GMACs"] == late["index GMACs"] == 10 * forward_macs(TINY, 5) / 1e9
    assert cross["index GMACs"] == 0
    assert [r["bytes/doc"] for r in (pooled, late, cross)] == [2 * 4, 5 * 2 * 4, 0]
    assert [r["query passes"] for r in (pooled, late, cross)] == [1, 1, 10]
    assert pooled["query GMACs"] * 1e9 == pytest.approx(132 + 10 * 2)
    assert late["query GMACs"] * 1e9 == pytest.approx(132 + 10 * 3 * 5 * 2)
    assert cross["query GMACs"] * 1e9 == pytest.approx(10 * forward_macs(TINY, 3 + 5 - 1))
    # a cross-encoder's query-time cost grows with the corpus, one full pass per document
    bigger = interaction_costs(TINY, n_docs=20, doc_tokens=5, query_tokens=3)
    assert bigger[INTERACTIONS[2]]["query GMACs"] == pytest.approx(2 * cross["query GMACs"])
    with pytest.raises(ValueError, match="n_docs"):
        interaction_costs(TINY, n_docs=0, doc_tokens=5, query_tokens=3)


def test_encoder_size_and_format_costs(enc):
    size = encoder_size(enc)
    assert size == EncoderSize(layers=6, hidden=384, intermediate=1536, dim=384)
    text = format_costs(interaction_costs(size, n_docs=1000, doc_tokens=200, query_tokens=20))
    lines = text.splitlines()
    assert len(lines) == 4 and "bytes/doc" in lines[0]
    assert "1,536" in lines[1]  # 384 float32 numbers per document
    assert f"{200 * 384 * 4:,}" in lines[2]


def test_mean_lengths(enc, toy):
    q_lens = [len(enc.tokenizer.tokenize(t)) + 2 for t in toy.query_texts]  # + [CLS] and [SEP]
    d_lens = [len(enc.tokenizer.tokenize(t)) + 2 for t in toy.doc_texts]
    assert mean_lengths(toy, enc) == (round(sum(q_lens) / 3), round(sum(d_lens) / 3))
    long = BeirDataset("long", {"d": {"title": "", "text": "word " * 400}}, {"q": "word"}, {"q": {"d": 1}})
    assert mean_lengths(long, enc) == (3, enc.format.doc_length)  # documents are cut to the model's length


def test_time_cross_encoding(enc):
    docs = ["Folic acid in pregnancy prevents neural tube defects.", "Cats sleep for most of the day."]
    threads = torch.get_num_threads()
    t = time_cross_encoding(enc, "does folic acid help?", docs, repeats=1)
    assert torch.get_num_threads() == threads  # timed on one thread, the setting restored
    assert set(t) == {"query alone", "query + each document", "each document alone", "x query alone"}
    assert all(v > 0 for v in t.values())
    assert t["x query alone"] == pytest.approx(t["query + each document"] / t["query alone"])
    with pytest.raises(ValueError, match="query"):
        time_cross_encoding(enc, "  ", docs)
    with pytest.raises(ValueError, match="docs"):
        time_cross_encoding(enc, "q", "one string, not a list")


# ----------------------------------------------------------------- where MaxSim's score comes from


def test_match_kind():
    assert match_kind("[CLS]", "[CLS]", 0.99) == "special"
    assert match_kind("acid", "acid", 0.5) == "exact"  # the same piece, however similar its vector
    assert match_kind("cat", "kitten", 0.95) == "near"
    assert match_kind("cat", "kitten", 0.95, near=0.96) == "other"
    assert match_kind("f", "fa", 0.3) == "other"
    with pytest.raises(ValueError, match="token strings"):
        match_kind(None, "a", 0.5)


def test_score_mass_by_hand():
    rows = [
        Match(0, "[CLS]", 0, "[CLS]", 0.9),
        Match(1, "acid", 3, "acid", 0.6),
        Match(2, "f", 2, "fa", 0.3),
        Match(3, "cat", 1, "kitten", 0.95),
        Match(4, "[SEP]", 9, "[SEP]", 0.25),
    ]
    shares = score_mass(rows)
    total = 0.9 + 0.6 + 0.3 + 0.95 + 0.25
    assert shares == pytest.approx({"special": 1.15 / total, "exact": 0.6 / total, "near": 0.95 / total,
                                    "other": 0.3 / total})
    assert sum(shares.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="empty"):
        score_mass([])
    with pytest.raises(ValueError, match="not positive"):
        score_mass([Match(0, "a", 0, "b", -0.2)])


def test_matched_maxsim_scores_by_hand():
    q = [torch.tensor([[1.0, 0.0], [0.0, 1.0]])]  # pieces "a", "b"
    d = [torch.tensor([[1.0, 0.0], [0.6, 0.8]]), torch.tensor([[0.0, 1.0]])]  # "c", "b" | "a"
    q_tok, d_tok = [["a", "b"]], [["c", "b"], ["a"]]
    full = matched_maxsim_scores(q, q_tok, d, d_tok, keep="all")
    exact = matched_maxsim_scores(q, q_tok, d, d_tok, keep="exact")
    inexact = matched_maxsim_scores(q, q_tok, d, d_tok, keep="inexact")
    # doc 0: a -> c (1.0), b -> b (0.8); doc 1: a -> a (0.0), b -> a (1.0)
    assert full[0].tolist() == pytest.approx([1.8, 1.0])
    # exact: doc 0 has no "a" (adds 0), its "b" gives 0.8; doc 1's only "a" scores 0.0 with "a"
    assert exact[0].tolist() == pytest.approx([0.8, 0.0])
    # inexact: doc 0 a -> c or b (1.0), b -> c only (0.0); doc 1 a -> nothing (0), b -> a (1.0)
    assert inexact[0].tolist() == pytest.approx([1.0, 1.0])


def test_matched_maxsim_scores_all_is_maxsim():
    g = torch.Generator().manual_seed(0)
    qs = [torch.randn(n, 8, generator=g) for n in (3, 5)]
    ds = [torch.randn(n, 8, generator=g) for n in (4, 7, 2)]
    got = matched_maxsim_scores(qs, [["x"] * 3, ["y"] * 5], ds, [["x"] * 4, ["y"] * 7, ["z"] * 2], keep="all")
    want = torch.tensor([[maxsim(q, d) for d in ds] for q in qs])
    assert torch.allclose(got, want, atol=1e-5)


def test_matched_maxsim_scores_bad_input():
    q, d = [torch.ones(2, 4)], [torch.ones(3, 4)]
    with pytest.raises(ValueError, match="keep"):
        matched_maxsim_scores(q, [["a", "b"]], d, [["a", "b", "c"]], keep="some")
    with pytest.raises(ValueError, match="align"):
        matched_maxsim_scores(q, [["a"]], d, [["a", "b", "c"]])
    with pytest.raises(ValueError, match="one token-string list"):
        matched_maxsim_scores(q, [], d, [["a", "b", "c"]])
    with pytest.raises(ValueError, match="different sizes"):
        matched_maxsim_scores(q, [["a", "b"]], [torch.ones(3, 5)], [["a", "b", "c"]])


def test_relevant_mass_on_a_toy_dataset(enc, toy, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    got = relevant_mass(toy, enc)
    assert got["pairs"] == 3  # d3 is judged 0 for q2: not a relevant pair
    assert sum(got[k] for k in ("special", "exact", "near", "other")) == pytest.approx(1.0)
    assert got["exact"] > 0.3  # every query's words are in its document: exact matches carry much
    pooled = enc.encode_pooled(toy.query_texts), enc.encode_pooled(toy.doc_texts)
    want = (float(pooled[0][0] @ pooled[1][0]) + float(pooled[0][1] @ pooled[1][1])
            + float(pooled[0][2] @ pooled[1][2])) / 3
    assert got["pooled cosine"] == pytest.approx(want, abs=1e-5)
    assert 0 < got["MaxSim/token"] <= 1
    with pytest.raises(ValueError, match="no judged relevant"):
        relevant_mass(BeirDataset("none", toy.corpus, toy.queries, {"q1": {"d1": 0}}), enc)


def test_exact_match_ablation_agrees_with_the_lesson_runs(enc, toy, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    got = exact_match_ablation(toy, enc)
    assert list(got) == ["pooled", "MaxSim", "MaxSim exact only", "MaxSim without exact"]
    runs = retrieve_all(toy, enc, methods=("pooled", "maxsim"))
    assert got["pooled"] == pytest.approx(evaluate(runs["pooled"], toy.qrels, ["ndcg@10"])["ndcg@10"])
    assert got["MaxSim"] == pytest.approx(evaluate(runs["maxsim"], toy.qrels, ["ndcg@10"])["ndcg@10"])
    # each query shares words only with its own relevant document, so exact matches alone rank it first
    assert got["MaxSim exact only"] == pytest.approx(1.0)

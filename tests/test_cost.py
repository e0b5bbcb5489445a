"""lateint.lessons.cost: the footprint table and the candidate sweep, on a tiny synthetic dataset."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from lateint.lessons.compress import Compression  # noqa: E402
from lateint.lessons.cost import (  # noqa: E402
    FULL,
    POOLED,
    bf16_lever,
    candidate_sweep,
    footprint,
    format_footprint,
    plot_candidates,
    plot_footprint,
)
from lateint.data import BeirDataset  # noqa: E402
from lateint.similarity import maxsim  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    """30 documents with tokens near a 12-dimensional subspace; query i copies 5 tokens of document i."""
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(12, 32, generator=g)
    tokens = [torch.nn.functional.normalize(torch.randn(int(n), 12, generator=g) @ basis
                                            + 0.1 * torch.randn(int(n), 32, generator=g), dim=-1)
              for n in torch.randint(20, 40, (30,), generator=g)]
    q_tokens = [torch.nn.functional.normalize(tokens[i][1:6] + 0.02 * torch.randn(5, 32, generator=g), dim=-1)
                for i in range(8)]
    docs = {"tokens": tokens, "pooled": torch.stack([t.mean(0) for t in tokens])}
    queries = {"tokens": q_tokens, "pooled": torch.stack([t.mean(0) for t in q_tokens])}
    ds = BeirDataset(
        name="tiny",
        corpus={f"d{i}": {"title": "", "text": f"doc {i}"} for i in range(30)},
        queries={f"q{i}": f"query {i}" for i in range(8)},
        qrels={f"q{i}": {f"d{i}": 1} for i in range(8)},
    )
    return ds, docs, queries


def test_footprint_table(tiny):
    ds, docs, queries = tiny
    table = footprint(ds, docs, queries, [Compression(storage="fp16"), Compression(pool_factor=2, dim=8)])
    assert list(table) == [POOLED, FULL, "fp16", "pool 2 + PCA 8 + fp32"]
    assert table[POOLED]["bytes/doc"] == 32 * 4 and table[POOLED]["x pooled bytes"] == 1.0
    tokens = sum(len(t) for t in docs["tokens"])
    assert table[FULL]["bytes/doc"] == tokens * 32 * 4 / 30
    assert table["fp16"]["bytes/doc"] == table[FULL]["bytes/doc"] / 2
    assert table[FULL]["ndcg@10"] == pytest.approx(1.0)  # every query finds its document first
    assert table[FULL]["of MaxSim"] == 1.0
    assert table["fp16"]["ndcg@10"] == pytest.approx(1.0)
    assert table["pool 2 + PCA 8 + fp32"]["vectors/doc"] < table[FULL]["vectors/doc"] * 0.6
    text = format_footprint(table).splitlines()
    assert text[0].split() == ["setting", "vectors/doc", "bytes/doc", "x", "pooled", "bytes", "nDCG@10", "of", "MaxSim"]
    assert text[2].split()[-2:] == ["1.000", "100.0%"] and len(text) == 5
    ax = plot_footprint(table, title="tiny")
    assert ax.get_xscale() == "log" and ax.get_title() == "tiny"


def test_footprint_shows_progress_over_the_settings(tiny, capsys):
    ds, docs, queries = tiny
    settings = [Compression(storage="fp16")]
    assert footprint(ds, docs, queries, settings, show_progress=True) == footprint(ds, docs, queries, settings)
    bar = capsys.readouterr().err
    assert "settings: 100%" in bar and "2/2" in bar  # all token vectors, then fp16


def test_footprint_plot_lines_range_and_labels():
    from matplotlib.colors import to_hex

    from lateint.display.plots import METHOD_COLORS

    table = {POOLED: {"bytes/doc": 1536, "ndcg@10": 0.848}, FULL: {"bytes/doc": 374252, "ndcg@10": 0.924},
             "fp16": {"bytes/doc": 187126, "ndcg@10": 0.924}, "pool 2 + fp32": {"bytes/doc": 187210, "ndcg@10": 0.925},
             "int8-vector": {"bytes/doc": 94538, "ndcg@10": 0.924},
             "pool 4 + fp32": {"bytes/doc": 93696, "ndcg@10": 0.935}}
    ax = plot_footprint(table, budget=4)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["pooled vector's nDCG@10", "97 % of full MaxSim's nDCG@10", "4× the pooled bytes"]
    pooled_line, share_line, budget_line = ax.lines
    assert share_line.get_ydata()[0] == pytest.approx(0.97 * 0.924)
    # the 97 % line is a threshold: neither the MaxSim points' colour nor the pooled line's
    assert to_hex(share_line.get_color()) not in {METHOD_COLORS["maxsim"].lower(), to_hex(pooled_line.get_color())}
    assert budget_line.get_xdata()[0] == 4 * 1536
    low, high = ax.get_ylim()
    assert low == pytest.approx(0.848 - 0.02) and high == pytest.approx(0.935 + 0.02)
    labels = [t for t in ax.texts]
    assert sorted(t.get_text() for t in labels) == sorted([POOLED, FULL, "fp16 / pool 2 + fp32", "int8-vector",
                                                           "pool 4 + fp32"])  # fp16 and pool 2 coincide: one label
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent(ax.figure.canvas.get_renderer()) for t in labels]
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
    assert plot_footprint({POOLED: {"bytes/doc": 10, "ndcg@10": 0.99}}).get_ylim()[1] == 1.0  # never above 1


def test_candidate_sweep(tiny):
    ds, docs, queries = tiny
    sweep = candidate_sweep(ds, docs, queries, [10, 30], k=10)
    assert list(sweep) == ["exhaustive", "k'=10", "k'=30"]
    assert sweep["exhaustive"]["recall@10 vs exhaustive"] == 1.0
    assert sweep["k'=30"]["recall@10 vs exhaustive"] == 1.0  # all 30 documents are candidates
    # with 10 pooled (cosine) candidates, the top 10 shares with the exhaustive one what pooled shares
    exhaustive = [set(torch.tensor([maxsim(q, d) for d in docs["tokens"]]).topk(10).indices.tolist())
                  for q in queries["tokens"]]
    unit = torch.nn.functional.normalize
    pooled = [set((unit(docs["pooled"], dim=-1) @ unit(q, dim=0)).topk(10).indices.tolist()) for q in queries["pooled"]]
    want = sum(len(a & b) for a, b in zip(exhaustive, pooled)) / 80
    assert sweep["k'=10"]["recall@10 vs exhaustive"] == pytest.approx(want)
    assert all(r["seconds"] > 0 for r in sweep.values())
    assert plot_candidates(sweep).get_xlabel().startswith("candidates")


def test_candidate_sweep_shows_progress_over_its_runs(tiny, capsys):
    ds, docs, queries = tiny
    quiet = candidate_sweep(ds, docs, queries, [10, 30], k=10)
    assert "candidate sweep" not in capsys.readouterr().err
    shown = candidate_sweep(ds, docs, queries, [10, 30], k=10, show_progress=True)
    assert "candidate sweep" in (bar := capsys.readouterr().err) and "3/3" in bar  # exhaustive + two k'
    strip = lambda t: {name: {m: v for m, v in row.items() if m not in ("seconds", "speed-up")} for name, row in t.items()}
    assert strip(shown) == strip(quiet)


def test_found_share_counts_the_reference_documents_found_over_all_queries():
    from lateint.lessons.cost import found_share

    reference = [[("a", 3.0), ("b", 2.0)], [("c", 1.0), ("d", 0.5)]]
    hits = [[("b", 9.0), ("x", 1.0)], [("d", 2.0), ("c", 1.0)]]  # order and scores do not matter
    assert found_share(hits, reference) == 3 / 4
    assert found_share(reference, reference) == 1.0


def test_long_doc_footprint_rows_relative_to_maxsim_over_whole_documents():
    from lateint.lessons.cost import format_footprint, long_doc_footprint
    from lateint.lessons.long_docs import Measured

    ds = BeirDataset("t", {"a": {"title": "", "text": "x"}, "b": {"title": "", "text": "y"}}, {"q": "x"}, {"q": {"a": 1}})
    good, bad = torch.tensor([[2.0, 1.0]]), torch.tensor([[1.0, 2.0]])
    measured = {"MaxSim, whole document": Measured(good, 300.0, 4.0), "chunks of 64 tokens": Measured(bad, 5.0, 1.0),
                "BM25, whole text": Measured(good, 0.0, float("nan"))}
    table = long_doc_footprint(ds, measured)
    assert list(table) == ["MaxSim, whole document", "chunks of 64 tokens"]  # BM25 stores no vectors
    chunks = table["chunks of 64 tokens"]
    assert chunks["bytes/doc"] == 5 * 384 * 4 and chunks["x pooled bytes"] == 5 and chunks["docs/s"] == 2
    assert chunks["of MaxSim"] == pytest.approx(chunks["ndcg@10"]) and chunks["ndcg@10"] < 1  # MaxSim is perfect here
    assert "chunks of 64 tokens" in format_footprint(table)


def test_bf16_lever_measures_bf16_against_float32_on_the_same_texts(encoder, capsys):
    from lateint import load_encoder
    from lateint.comparison import encode_corpus

    topics = ["volcanoes erupt when magma rises", "bees pollinate flowering plants", "tides follow the moon",
              "vaccines train the immune system", "glaciers carve valleys over millennia", "rust is iron oxide",
              "comets grow tails near the sun", "coral bleaches in warm water", "owls hunt by sound at night",
              "salt lowers the freezing point", "lightning heats the air", "yeast ferments sugar",
              "moss grows on damp stone", "sound travels faster in water"]  # 14 documents: a top 10 that can lose one
    ds = BeirDataset(
        name="lever",
        corpus={f"d{i}": {"title": "", "text": f"{t.capitalize()}; scientists have measured it for a century. " * 3}
                for i, t in enumerate(topics)},
        queries={f"q{i}": f"why {t}?" for i, t in enumerate(topics[:4])},
        qrels={f"q{i}": {f"d{i}": 1} for i in range(4)},
    )
    docs = encode_corpus(encoder, ds.doc_texts, "documents", cache=False)
    queries = encode_corpus(encoder, ds.query_texts, "queries", cache=False)
    same = bf16_lever(encoder, encoder, ds, docs, queries, sample=3)  # float32 against itself: nothing moves
    assert same["largest change per query token"] < 1e-5 and same["top-10 kept"] == 1.0
    assert same["ndcg@10 bf16"] == same["ndcg@10 float32"]
    assert "bf16 lever" not in capsys.readouterr().err
    shown = bf16_lever(encoder, encoder, ds, docs, queries, sample=3, show_progress=True)
    assert "bf16 lever: 100%" in (bar := capsys.readouterr().err) and "3/3" in bar  # two timings, then the slice
    timeless = lambda r: {m: v for m, v in r.items() if not m.startswith("docs/s") and m != "speed-up"}  # noqa: E731
    assert timeless(shown) == timeless(same)
    half = bf16_lever(encoder, load_encoder(dtype=torch.bfloat16), ds, docs, queries, sample=3)
    assert 0 < half["largest change per query token"] < 0.01  # the bound maxsim_scores' docstring states
    assert half["top-10 kept"] >= 0.9 and half["ndcg@10 float32"] == 1.0
    assert half["speed-up"] == pytest.approx(half["docs/s bf16"] / half["docs/s float32"])

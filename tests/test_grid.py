"""lateint.lessons.grid: the training grid's whole-test-set table (lesson 07, benchmarks/train_grid.py)."""

import pytest

from lateint.lessons.grid import (GRID_PLOT, GRID_RESULTS, REPOSITORY_RAW, RETRIEVAL_RESULTS, format_whole_set,
                                  load_jsonl, read_results, whole_set_rows, zero_shot_full)

RETRIEVAL = [
    {"dataset": "scifact", "split": "test", "method": "pooled", "ndcg@10": 0.645},
    {"dataset": "scifact", "split": "test", "method": "maxsim", "ndcg@10": 0.707},
    {"dataset": "scifact", "split": "test", "method": "bm25", "ndcg@10": 0.679},
    {"dataset": "scifact", "split": "dev", "method": "pooled", "ndcg@10": 0.1},  # not the test split: ignored
]
GRID = [
    {"train": "scifact", "eval": "scifact", "head": "late", "n": 809, "steps": 51, "scope": "full", "ndcg@10": 0.715},
    {"train": "scifact", "eval": "scifact", "head": "pooled", "n": 809, "steps": 51, "scope": "full", "ndcg@10": 0.673},
    {"train": "scifact", "eval": "scifact", "head": "pooled", "n": 50, "steps": 30, "ndcg@10": 0.9},  # a slice row
    {"train": "-", "eval": "scifact", "head": "bm25", "n": 0, "steps": 30, "scope": "full", "ndcg@10": 0.679},
]


def test_zero_shot_full_maps_methods_to_heads_on_the_test_split():
    assert zero_shot_full(RETRIEVAL) == {("scifact", "pooled"): 0.645, ("scifact", "late"): 0.707,
                                         ("scifact", "bm25"): 0.679}


def test_whole_set_rows_pairs_each_final_model_with_its_zero_shot_start():
    rows = whole_set_rows(GRID, RETRIEVAL)
    assert [r["head"] for r in rows] == ["pooled", "late"]  # only the full-scope heads, pooled first
    pooled, late = rows
    assert pooled["zero_shot"] == 0.645 and pooled["trained"] == 0.673
    assert pooled["change"] == pytest.approx(0.028)
    assert late["change"] == pytest.approx(0.008)
    assert pooled["bm25"] == 0.679 and pooled["in_domain"] and pooled["n"] == 809 and pooled["steps"] == 51


def test_whole_set_rows_without_a_zero_shot_figure_says_so():
    rows = whole_set_rows([dict(GRID[0], eval="nfcorpus")], RETRIEVAL)
    assert rows[0]["zero_shot"] is None and rows[0]["change"] is None and not rows[0]["in_domain"]
    assert "n/a" in format_whole_set(rows)


def test_no_whole_set_rows_is_a_clear_error():
    with pytest.raises(ValueError, match="scope"):
        whole_set_rows(GRID[2:3], RETRIEVAL)


def test_missing_results_file_says_where_it_lives(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks"):
        load_jsonl(tmp_path / "train_grid_results.jsonl")


def test_committed_results_give_every_cell_of_the_readme_table():
    rows = whole_set_rows(load_jsonl(GRID_RESULTS), load_jsonl(RETRIEVAL_RESULTS))
    cells = {(r["train"], r["eval"], r["head"]) for r in rows}
    assert cells == {(t, e, h) for t in ("scifact", "nfcorpus") for e in ("scifact", "nfcorpus") for h in ("pooled", "late")}
    assert all(r["zero_shot"] is not None and r["change"] == pytest.approx(r["trained"] - r["zero_shot"]) for r in rows)
    text = format_whole_set(rows)
    assert len(text.splitlines()) == 1 + len(rows)
    assert GRID_PLOT.is_file()


def test_read_results_reads_the_repository_file_without_fetching():
    def fetch(url, dest):
        raise AssertionError("must not download a file that is there")

    assert read_results(GRID_RESULTS, fetch=fetch) == load_jsonl(GRID_RESULTS)


def test_read_results_downloads_a_missing_file_by_name(tmp_path):
    asked = []

    def fetch(url, dest):
        asked.append(url)
        dest.write_text('{"a": 1}\n\n{"a": 2}\n')

    assert read_results(tmp_path / "train_grid_results.jsonl", fetch=fetch) == [{"a": 1}, {"a": 2}]
    assert asked == [REPOSITORY_RAW + "train_grid_results.jsonl"]


def test_read_results_offline_says_what_to_do(tmp_path):
    def fetch(url, dest):
        raise OSError("no network")

    with pytest.raises(FileNotFoundError, match="no network.*benchmarks/README.md"):
        read_results(tmp_path / "train_grid_results.jsonl", fetch=fetch)

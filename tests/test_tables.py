"""tables.py: aligned plain-text tables."""
import pytest

from lateint.display.tables import format_table


def test_format_table_aligns_rounds_and_leaves_gaps():
    text = format_table(
        {"pooled": {"ndcg@10": 0.85149, "n": 40}, "MaxSim (ColBERT)": {"ndcg@10": 0.9, "recall@10": 1.0}},
        digits=2,
        first="method",
    )
    lines = text.splitlines()
    assert lines[0].split() == ["method", "ndcg@10", "n", "recall@10"]
    assert lines[1].split() == ["pooled", "0.85", "40"]
    assert lines[2].startswith("MaxSim (ColBERT)") and lines[2].split()[-2:] == ["0.90", "1.00"]
    # right-aligned numbers end in the same column
    assert lines[1].index("0.85") + 4 == lines[2].index("0.90") + 4


def test_format_table_bad_input():
    with pytest.raises(ValueError, match="empty"):
        format_table({})
    with pytest.raises(TypeError, match="row 'x'"):
        format_table({"x": 0.5})

"""Plain-text tables of results, for printing in lessons (stable under nbval: fixed decimals)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["format_table"]


def format_table(rows: Mapping[str, Mapping[str, float]], digits: int = 3, first: str = "") -> str:
    """``{row: {column: value}}`` (e.g. ``{method: {metric: value}}``) as aligned text.

    Columns are the union of the rows' keys in first-seen order; a missing value is
    left blank. Numbers are rounded to ``digits`` decimals; other values are shown as text.

    >>> print(format_table({"bm25": {"ndcg@10": 0.6789}, "maxsim": {"ndcg@10": 0.7}}, first="method"))
    method  ndcg@10
    bm25      0.679
    maxsim    0.700
    """
    if not rows:
        raise ValueError("rows is empty: pass {row: {column: value}}")
    for name, row in rows.items():
        if not isinstance(row, Mapping):
            raise TypeError(f"row {name!r} must be a dict {{column: value}}, got {type(row).__name__}")
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))

    def cell(v) -> str:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return str(v)
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    body = [[str(name)] + [cell(row[c]) if c in row else "" for c in columns] for name, row in rows.items()]
    header = [first] + [str(c) for c in columns]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = []
    for r in [header] + body:
        lines.append("  ".join([r[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(r[1:], widths[1:])]).rstrip())
    return "\n".join(lines)

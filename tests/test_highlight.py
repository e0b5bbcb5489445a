"""highlight.py: documents rendered as HTML with each token coloured by its MaxSim match."""
import re

import pytest

from lateint.display.highlight import (
    Html,
    alignment_table,
    explain_texts,
    highlight,
    render_tokens,
    token_strengths,
)
from lateint.similarity import Match, maxsim


def spans(html: str) -> list[tuple[str | None, str]]:
    """(opacity or None, text) of each token span."""
    out = []
    for style, text in re.findall(r"<span(?: style=\"background: rgba\([\d, ]+, ([\d.]+)\)\")?[^>]*>([^<]*)</span>", html):
        out.append((style or None, text))
    return out


def test_token_strengths_keep_the_best_match_per_document_token():
    rows = [Match(0, "a", 2, "x", 0.4), Match(1, "b", 2, "x", 0.9), Match(2, "c", 0, "y", -0.2)]
    assert token_strengths(rows, 4) == [-0.2, None, 0.9, None]
    with pytest.raises(ValueError, match="has 2 tokens"):
        token_strengths(rows, 2)


def test_render_tokens_colours_joins_pieces_and_escapes():
    html = render_tokens(["[CLS]", "light", "##house", "<b>", "Ġkeeper"], [None, 0.93, 0.26, None, 0.04], ["t0", None, None, None, None])
    assert spans(html) == [(None, "[CLS]"), ("0.9", "light"), ("0.3", "house"), (None, "&lt;b&gt;"), ("0.1", "keeper")]
    assert "lighthouse" in re.sub(r"<[^>]+>", "", html)  # the word pieces read as one word
    assert 'title="t0"' in html and "<b>" not in html
    with pytest.raises(ValueError, match="align"):
        render_tokens(["a", "b"], [0.1])


@pytest.fixture(scope="module")
def enc(encoder):
    return encoder


def test_highlight_marks_what_the_query_matched(enc):
    query = "Where does the lighthouse keeper keep the spare lens?"
    docs = ["The keeper stores the spare lens in a blue tin.", "Bananas are rich in potassium."]
    out = highlight(enc, query, docs, titles=["needle", "banana"])
    assert isinstance(out, Html) and out._repr_html_() == str(out) and "Html" in repr(out)
    assert out.count('style="flex: 1') == 2 and "needle" in out and "banana" in out
    # the columns' scores are the documents' MaxSim scores
    q = enc.encode_queries([query])[0]
    for doc in docs:
        assert f"MaxSim {maxsim(q, enc.encode_documents([doc])[0]):.2f}" in out
    first = out.split('style="flex: 1')[1]
    coloured = {text for opacity, text in spans(first) if opacity}
    assert {"keeper", "spare", "lens"} <= coloured  # exact query words are matched...
    strong = {text for opacity, text in spans(first) if opacity and float(opacity) >= 0.7}
    assert "blue" not in strong and "lens" in strong  # ...and more strongly than the rest


def test_explain_texts_and_alignment_table(enc):
    rows = explain_texts(enc, "spare lens", "The spare lens is in a tin.")
    assert [r.query_token for r in rows] == ["[CLS]", "spare", "lens", "[SEP]"]
    assert rows[2].doc_token == "lens" and rows[2].similarity > 0.8
    table = alignment_table(rows, skip=["[CLS]", "[SEP]"])
    lines = table.splitlines()
    assert len(lines) == 5  # header, 2 rows, the summed specials, total
    assert "2 x [CLS]/[SEP]" in lines[3]
    assert lines[-1].split()[-1] == f"{sum(r.similarity for r in rows):.3f}"
    with pytest.raises(ValueError, match="no matches"):
        alignment_table([])


def test_highlight_rejects_bad_input(enc):
    with pytest.raises(TypeError, match="list of documents"):
        highlight(enc, "q", "one doc")
    with pytest.raises(ValueError, match="one title per document"):
        highlight(enc, "q", ["a", "b"], titles=["x"])
    with pytest.raises(TypeError, match="one string"):
        explain_texts(enc, ["q"], "d")


def test_the_picked_token_has_one_colour_across_views():
    """Heat map outline, highlight shading and the stepper's picked token: one hue, text at 4.5:1 contrast."""
    import colorsys

    from lateint.display import colours, style, widgets
    from lateint.display.highlight import render_tokens

    def rgb(hex_):
        return tuple(int(hex_[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def luminance(c):
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    assert style.HIGHLIGHT == colours.PICKED
    assert tuple(int(v) / 255 for v in colours.PICKED_RGB.split(",")) == rgb(colours.PICKED)
    assert f"rgba({colours.PICKED_RGB}, " in render_tokens(["a", "b"], [0.9, None])
    assert widgets.THEME_COLOURS["accent"] == colours.PICKED_TEXT
    hue = colorsys.rgb_to_hsv(*rgb(colours.PICKED))[0] * 360
    for theme, text in colours.PICKED_TEXT.items():
        assert abs(colorsys.rgb_to_hsv(*rgb(text))[0] * 360 - hue) < 5, (theme, text)  # the same hue
        lighter, darker = sorted([luminance(rgb(text)), luminance(rgb(widgets.THEME_BACKGROUNDS[theme]))])[::-1]
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (theme, text)

"""The query stepper, driven from Python like a learner would: no browser needed."""
import re

import pytest
import torch

from lateint import maxsim
from lateint.lessons.demo import NEEDLE_DOC_ID, NEEDLE_QUERY, demo_corpus
from lateint.similarity import explain
from lateint.side_by_side import SideBySide
from lateint.display.text_box import TextBox
from lateint.display.widgets import (
    THEME_BACKGROUNDS,
    THEME_COLOURS,
    QueryStepper,
    StepperState,
    contributions_html,
    piece_html,
    rankings_html,
    theme_css,
    tokens_html,
)


@pytest.fixture(scope="module")
def index(encoder):
    """The demo corpus indexed both ways, once for the whole module."""
    return SideBySide.from_dataset(encoder, demo_corpus(), cache=False)


@pytest.fixture()
def stepper(index):
    ds = demo_corpus()
    return QueryStepper(StepperState(index, ds.queries, ds.qrels, k=5))


def picked_position(html: str) -> int:
    found = re.findall(r'<span data-pos="(\d+)" class="picked"', html)
    assert len(found) == 1, "exactly one document token is marked as picked"
    return int(found[0])


def test_state_follows_explain(index):
    state = StepperState(index, query=NEEDLE_QUERY)
    assert state.doc_id == NEEDLE_DOC_ID  # MaxSim's top document is selected
    q, d = state.query.vectors, index.doc_vectors(NEEDLE_DOC_ID)
    expected = explain(q, d, state.query.tokens, index.document_tokens[index.position(NEEDLE_DOC_ID)])
    assert state.n_steps == len(state.query.tokens) == q.shape[0]
    for step, match in enumerate(expected):
        state.set_step(step)
        assert state.current == match
        assert state.similarities.argmax().item() == match.doc_position
        assert state.running_total == pytest.approx(sum(m.similarity for m in expected[: step + 1]))
    assert state.contributions == pytest.approx([m.similarity for m in expected])
    assert state.running_total == pytest.approx(maxsim(q, d), abs=1e-5) == pytest.approx(state.total, abs=1e-5)


def test_state_steps_and_rejects_bad_input(index):
    state = StepperState(index, query="How long is a marathon?")
    assert state.prev() == 0  # stays on the first token
    assert state.next() == 1
    state.set_step(state.n_steps - 1)
    assert state.next() == state.n_steps - 1  # stays on the last
    for bad in (-1, state.n_steps, 1.5):
        with pytest.raises(ValueError, match="step must be"):
            state.set_step(bad)
    with pytest.raises(KeyError, match="Unknown doc id"):
        state.set_doc("no-such-doc")
    with pytest.raises(ValueError, match="non-empty"):
        state.set_query("  ")
    with pytest.raises(ValueError, match="first query"):
        StepperState(index)


def test_rankings_match_the_indexes(index):
    state = StepperState(index, query="Which planet is the hottest?", k=3)
    q = state.query
    maxsim_scores = torch.tensor([maxsim(q.vectors, index.doc_vectors(did)) for did in index.doc_ids])
    best = maxsim_scores.topk(3).indices.tolist()
    assert [did for did, _ in state.rankings["maxsim"]] == [index.doc_ids[j] for j in best]
    cos = index.pooled.vectors @ q.pooled
    assert [did for did, _ in state.rankings["pooled"]] == [index.doc_ids[j] for j in cos.topk(3).indices.tolist()]
    assert len(state.rankings["pooled"]) == 3


def test_widget_shows_the_picked_token_and_bars(stepper):
    state = stepper.state
    assert stepper.query_choice.value == state.query.text == NEEDLE_QUERY  # first demo query
    for _ in range(3):
        stepper.next_button.click()
    assert state.step == 3 and stepper.step.value == 4  # the slider counts from 1, as "4 of 8" does
    assert f"({stepper.step.value} of {state.n_steps})" in stepper.match_view.value
    assert picked_position(stepper.doc_view.value) == state.current.doc_position
    assert f"{state.current.similarity:.3f}" in stepper.match_view.value
    done = re.findall(r'<tr data-step="(\d+)" class="done"', stepper.bars_view.value)
    assert done == ["0", "1", "2", "3"]
    assert f"<b>{state.running_total:.3f}</b>" in stepper.bars_view.value

    stepper.step.value = state.n_steps  # the slider: last token
    assert f"<b>{state.total:.3f}</b>" in stepper.bars_view.value  # the bars add up to MaxSim
    stepper.prev_button.click()
    assert state.step + 1 == stepper.step.value == state.n_steps - 1


def test_widget_choosing_a_document_and_a_query(stepper, index):
    state = stepper.state
    stepper.step.value = 3
    stepper.doc_choice.value = "sea-lighthouse"
    assert state.doc_id == "sea-lighthouse" and state.step == 2
    assert picked_position(stepper.doc_view.value) == state.current.doc_position
    d = index.doc_vectors("sea-lighthouse")
    assert state.total == pytest.approx(maxsim(state.query.vectors, d), abs=1e-5)

    stepper.query_choice.value = "How long is a marathon?"
    assert stepper.query_text.value == "How long is a marathon?"
    assert state.doc_id == stepper.doc_choice.value == state.rankings["maxsim"][0][0]
    assert state.step == 0 and stepper.step.value == 1
    assert stepper.step.max == state.n_steps == len(state.query.tokens)


def test_typing_a_query_updates_tokens_and_rankings(stepper):
    stepper.step.value = 5
    stepper.query_text.value = "hottest planet"
    state = stepper.state
    assert state.query.tokens == ["[CLS]", "hottest", "planet", "[SEP]"]
    assert stepper.step.max == 4 and stepper.step.value == 1
    assert stepper.query_choice.value is None  # not one of the listed queries
    assert state.relevant == {}  # no judgements for a typed query

    ranking = stepper.ranking_view.value
    first_maxsim = re.search(r'data-method="maxsim" data-rank="1" data-doc="([^"]+)"', ranking).group(1)
    assert first_maxsim == state.rankings["maxsim"][0][0] == state.doc_id
    assert len(re.findall(r'data-method="pooled"', ranking)) == state.k


def test_ranking_view_marks_relevant_docs(stepper):
    stepper.query_choice.value = "Which planet is the hottest?"
    cell = re.search(r'<td data-method="maxsim" data-rank="1" data-doc="astro-venus">(.*?)</td>', stepper.ranking_view.value)
    assert cell is not None and "&#9733;" in cell.group(1)  # MaxSim ranks the judged answer first, starred
    assert stepper.state.relevant == {"astro-venus": 2}


def test_empty_typed_query_shows_an_error_and_clears_the_views(stepper):
    before = stepper.state.query.text
    stepper.query_text.value = "   "
    assert "non-empty" in stepper.match_view.value and stepper.error
    assert stepper.state.query.text == before
    # nothing of the previous query is left on screen, and nothing can be stepped
    assert stepper.doc_view.value == stepper.bars_view.value == stepper.ranking_view.value == ""
    assert stepper.query_choice.value is None
    assert all(c.disabled for c in (stepper.doc_choice, stepper.step, stepper.prev_button, stepper.next_button))
    stepper.query_text.value = "hottest planet"  # a usable query brings everything back
    assert stepper.error is None and picked_position(stepper.doc_view.value) == stepper.state.current.doc_position
    assert not stepper.next_button.disabled and not stepper.step.disabled


def test_prev_and_next_are_disabled_at_the_ends(stepper):
    assert stepper.state.step == 0 and stepper.prev_button.disabled and not stepper.next_button.disabled
    stepper.next_button.click()
    assert not stepper.prev_button.disabled and not stepper.next_button.disabled
    stepper.step.value = stepper.state.n_steps
    assert stepper.next_button.disabled and not stepper.prev_button.disabled


def send(widget, content: dict) -> None:
    """A custom message from the browser's view of ``widget``, as the kernel receives it."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def submit(stepper):
    """What the browser sends when Enter is pressed on the text the box already sent."""
    send(stepper.query_text, {"event": "submit"})


def test_the_text_box_calls_back_on_enter_only():
    """The stepper's text box (an anywidget: tests/test_browser.py checks that Ctrl+S saves from it)."""
    box = TextBox(value="first", description="or type")
    seen = []
    box.on_submit(lambda b: seen.append(b.value))
    send(box, {"event": "something else"})
    box.value = "second"  # a changed text is a value change, not a submit
    assert seen == []
    send(box, {"event": "submit"})
    assert seen == ["second"]
    assert "export default { render }" in box._esm  # the front end (text_box.js) travels with the widget


def test_retyping_the_shown_query_starts_it_again(stepper):
    first_doc = stepper.state.doc_id
    stepper.doc_choice.value = "sea-lighthouse"
    stepper.step.value = 6
    stepper.query_text.value = stepper.state.query.text  # unchanged: no change event
    assert stepper.state.step == 5
    submit(stepper)  # Enter
    assert stepper.state.step == 0 and stepper.step.value == 1 and stepper.prev_button.disabled
    assert stepper.state.doc_id == stepper.doc_choice.value == first_doc  # MaxSim's top document again
    assert "(1 of " in stepper.match_view.value


def test_word_pieces_read_the_same_in_document_and_bars():
    doc = ["[CLS]", "above", "450", "degrees", "ce", "##ls", "##ius", "."]
    assert piece_html(doc, 6) == "cels<u>ius</u>" and piece_html(doc, 4) == "<u>ce</u>lsius"
    assert piece_html(doc, 3) == "degrees" and piece_html(["<b>"], 0) == "&lt;b&gt;"
    with pytest.raises(ValueError, match="there are 8 tokens"):
        piece_html(doc, 8)
    page = tokens_html(doc, [0.1] * len(doc), picked=6)
    text = re.sub(r"<[^>]+>", "", page)  # what a reader sees: the pieces form one word
    assert "celsius" in text and "ce ls" not in text
    rows = explain(torch.eye(2), torch.eye(2), ["how", "##ot"], ["ce", "##ls"])
    bars = contributions_html(rows, step=1, query_tokens=["how", "##ot"], document_tokens=["ce", "##ls"])
    assert "&rarr; <u>ce</u>ls" in bars and "&rarr; ce<u>ls</u>" in bars and "##" not in bars


def luminance(colour: str) -> float:
    """WCAG relative luminance of '#RRGGBB' or 'r, g, b'."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)] if colour.startswith("#") else [int(v) for v in colour.split(",")]
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_theme_colours_are_readable(theme):
    background = THEME_BACKGROUNDS[theme]
    for name in ("accent", "muted"):  # text colours: the picked token, rows not counted yet
        assert contrast(THEME_COLOURS[name][theme], background) >= 4.5, (name, theme)
    assert contrast(THEME_COLOURS["shade"][theme], background) >= 3  # filled bars: graphics need 3:1
    assert THEME_COLOURS["accent"][theme] in theme_css() and THEME_COLOURS["muted"][theme] in theme_css()
    assert contrast("#D55E00", THEME_BACKGROUNDS["light"]) < 4.5  # why the plots' orange is not used for text


def test_counted_bars_are_filled_and_the_rest_outlined():
    rows = explain(torch.eye(3), torch.eye(3), ["a", "b", "c"], ["x", "y", "z"])
    bars = contributions_html(rows, step=0)
    done, todo = bars.split('data-step="1"')
    assert "background: rgb(var(--lateint-shade" in done and "dashed" not in done
    assert "dashed var(--lateint-muted" in todo and "background: rgb(" not in todo
    assert "opacity" not in bars  # greyed by a readable colour, not by fading
    assert re.findall(r'class="todo"', bars) == ['class="todo"'] * 2
    picked = tokens_html([".", ","], [0.5, 0.4], picked=0)
    assert re.search(r'class="picked"[^>]*outline: 3px solid var\(--lateint-accent[^>]*padding: 0 4px', picked)


def test_html_helpers():
    html = tokens_html(["[CLS]", "sk", "##elli", "<b>"], [0.1, 0.9, 0.5, -0.2], picked=1)
    assert picked_position(html) == 1
    assert '<span data-pos="2"' in html and "> <span data-pos=\"2\"" not in html  # word piece attached
    assert "&lt;b&gt;" in html  # escaped
    with pytest.raises(ValueError, match="align"):
        tokens_html(["a"], [0.1, 0.2])

    q = torch.eye(2)
    rows = explain(q, torch.tensor([[0.6, 0.8], [1.0, 0.0]]), ["a", "b"], ["x", "y"])
    bars = contributions_html(rows, step=0)
    assert re.findall(r'data-step="(\d+)" class="done"', bars) == ["0"] and "<b>1.000</b>" in bars

    table = rankings_html({"pooled": [("d1", 0.5)], "maxsim": [("d2", 3.0), ("d1", 2.0)]}, {"d2": 1}, selected="d1")
    assert 'data-method="maxsim" data-rank="2" data-doc="d1"><b>d1</b>' in table
    assert re.search(r'data-doc="d2">d2 &#9733;', table)


def test_static_view_says_what_it_is_and_shows_the_current_step(stepper):
    """Without a kernel (reloaded notebook, static viewer, course site) the stepper is text and HTML, not VBox(...)."""
    stepper.next_button.click()
    bundle = stepper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle, "the live widget is still there for a kernel"
    text, page = bundle["text/plain"], bundle["text/html"]
    assert "VBox" not in text and "interactive widget" in text and "live Python kernel" in text
    assert f"query token 2 of {stepper.state.n_steps}" in text
    assert stepper.match_view.value in page and picked_position(page) == stepper.state.current.doc_position
    stepper.query_text.value = "   "
    assert stepper.error and stepper.error in stepper._repr_mimebundle_()["text/plain"]

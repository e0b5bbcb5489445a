"""The query stepper, driven from Python like a learner would: no browser needed."""
import re

import pytest
import torch

from lateint import load_encoder, maxsim
from lateint.lessons.demo import NEEDLE_DOC_ID, NEEDLE_QUERY, demo_corpus
from lateint.maxsim import explain
from lateint.lessons.side_by_side import SideBySide
from lateint.display.widgets import (
    QueryStepper,
    StepperState,
    contributions_html,
    rankings_html,
    tokens_html,
)


@pytest.fixture(scope="module")
def index():
    """The demo corpus indexed both ways, once for the whole module."""
    return SideBySide.from_dataset(load_encoder(device="cpu"), demo_corpus(), cache=False)


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


def test_empty_typed_query_shows_an_error_and_keeps_state(stepper):
    before = stepper.state.query.text
    stepper.query_text.value = "   "
    assert "non-empty" in stepper.match_view.value
    assert stepper.state.query.text == before


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

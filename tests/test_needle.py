"""The needle-in-a-haystack experiment: haystacks, scores, floors and ranks."""
import pytest
import torch

from lateint.lessons.demo import NEEDLE, NEEDLE_DOC_ID, NEEDLE_QUERY, demo_corpus
from lateint.index import MaxSimIndex, PooledIndex
from lateint.lessons.needle import (
    NEAR_MISSES,
    NeedleResult,
    default_distractors,
    haystacks,
    needle_experiment,
)


@pytest.fixture(scope="module")
def enc(encoder):
    return encoder


@pytest.fixture(scope="module")
def result(enc):
    return needle_experiment(enc, n_filler=(0, 2, 10), seeds=(0, 1), cache=False)


def test_haystacks_grow_around_the_needle():
    texts = haystacks([0, 3, 6], seeds=[0, 1])
    assert len(texts) == 3 and all(len(row) == 2 for row in texts)
    assert texts[0] == [NEEDLE, NEEDLE]
    assert all(NEEDLE in t for row in texts for t in row)
    assert len(texts[1][0]) < len(texts[2][0]) and texts[2][0] != texts[2][1]  # seeds change the filler


def test_distractors_are_the_demo_corpus_without_the_needle_plus_near_misses():
    docs = default_distractors()
    assert NEEDLE_DOC_ID not in docs and len(docs) == len(demo_corpus().corpus) - 1 + len(NEAR_MISSES)
    assert not any(NEEDLE in text for text in docs.values())
    assert all("lens in a blue tin" not in text for text in NEAR_MISSES.values())


def test_experiment_shapes_and_lengths(result):
    assert result.n_filler == [0, 2, 10] and result.seeds == [0, 1]
    for table in (result.tokens, *result.scores.values(), *result.baseline.values(), *result.ranks.values()):
        assert table.shape == (3, 2)
    lengths = result.mean_tokens()
    assert lengths[0] < lengths[1] < lengths[2]
    assert result.n_distractors == len(default_distractors())
    assert torch.isnan(result.baseline["pooled"][0]).all() and not torch.isnan(result.baseline["pooled"][1:]).any()


def test_scores_agree_with_the_indexes(enc, result):
    # recompute one cell (10 fillers, seed 1) independently through the two indexes
    text = haystacks([10], [1])[0][0]
    docs = default_distractors()
    ids, texts = ["needle"] + list(docs), [text] + list(docs.values())
    pooled = PooledIndex(ids, enc.encode_pooled(texts)).scores(enc.encode_pooled([NEEDLE_QUERY]))[0]
    q = enc.encode_queries([NEEDLE_QUERY])[0]
    maxsim = MaxSimIndex(ids, enc.encode_documents(texts)).scores([q])[0] / q.shape[0]
    for method, s in (("pooled", pooled), ("maxsim", maxsim)):
        assert result.scores[method][2, 1].item() == pytest.approx(s[0].item(), abs=1e-4)
        assert result.ranks[method][2, 1].item() == 1 + int((s[1:] > s[0]).sum())


def test_filler_dilutes_the_pooled_vector_more_than_maxsim(result):
    pooled, maxsim = result.scores["pooled"], result.scores["maxsim"]
    assert (pooled[2] < pooled[0]).all()  # the needle alone scores highest
    pooled_drop = (pooled[0] - pooled[2]) / pooled[0]
    maxsim_drop = (maxsim[0] - maxsim[2]) / maxsim[0]
    assert (pooled_drop > maxsim_drop).all()
    assert (result.baseline["maxsim"][1:] < maxsim[1:]).all()  # filler alone scores below the needle doc
    assert (result.ranks["maxsim"] == 1).all()


def test_show_progress_reaches_the_encoder(enc, capsys):
    quiet = needle_experiment(enc, n_filler=(0,), seeds=(0,), cache=False)
    assert "encoding" not in capsys.readouterr().err
    shown = needle_experiment(enc, n_filler=(0,), seeds=(0,), cache=False, show_progress=True)
    bars = capsys.readouterr().err
    assert "encoding documents" in bars and "encoding queries" in bars
    assert torch.equal(shown.ranks["maxsim"], quiet.ranks["maxsim"])


def test_too_long_haystack_and_empty_distractors_are_refused(enc):
    with pytest.raises(ValueError, match="at most 256"):
        needle_experiment(enc, n_filler=(40,), seeds=(0,), cache=False)
    with pytest.raises(ValueError, match="distractors is empty"):
        needle_experiment(enc, n_filler=(0,), seeds=(0,), distractors={}, cache=False)


def test_summaries_on_a_hand_made_result():
    ranks = torch.tensor([[1, 1], [1, 2], [3, 4]])
    r = NeedleResult(
        n_filler=[0, 5, 10], seeds=[0, 1], tokens=torch.tensor([[20, 22], [80, 90], [150, 160]]),
        scores={"pooled": torch.tensor([[0.8, 0.8], [0.5, 0.3], [0.4, 0.2]])},
        baseline={"pooled": torch.full((3, 2), float("nan"))},
        ranks={"pooled": ranks, "maxsim": torch.ones(3, 2, dtype=torch.long)}, n_distractors=9,
    )
    assert r.mean_tokens() == [21.0, 85.0, 155.0]
    assert r.mean("scores")["pooled"] == pytest.approx([0.8, 0.4, 0.3])
    assert r.top1_rate() == {"pooled": [1.0, 0.5, 0.0], "maxsim": [1.0, 1.0, 1.0]}
    assert r.first_lost() == {"pooled": 85.0, "maxsim": None}
    assert r.rows()[2]["pooled rank"] == 3.5 and r.rows()[0]["tokens"] == 21.0
    with pytest.raises(ValueError, match="what must be"):
        r.mean("tokens")


def test_table_and_summary_state_the_measured_numbers(result):
    lines = result.table().splitlines()
    assert len(lines) == 2 + len(result.n_filler)
    assert f"{result.mean('scores')['pooled'][2]:.3f}" in lines[-1]
    summary = result.summary()
    assert f"{result.mean('scores')['maxsim'][0]:.3f}" in summary and "maxsim: ranked first in 100%" in summary

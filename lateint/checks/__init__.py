"""Automatic checks for the exercise notebooks (``notebooks/exercises/``).

Each exercise asks the learner to write one key piece of the course (MaxSim, mean
pooling, nDCG@10...) and ends with a check cell::

    from lateint import checks
    checks.check_maxsim(my_maxsim)

A check

1. builds hidden inputs itself, from a fixed seed: random tensors plus the edge cases
   where typical mistakes show (one token, heavy padding, negative similarities,
   graded judgements...);
2. runs the learner's function on copies of them and compares each answer with the
   library's own function (``lateint.similarity.maxsim``, ``lateint.pooling.mean_pool``,
   ``lateint.metrics.ndcg_at_k``, ``lateint.lessons.compress.nbytes``...), not with a second
   implementation. One task has no library counterpart, so its reference lives in
   :func:`check_token_pooling`: adjacent token pooling (the library's
   ``lateint.lessons.compress.merge_tokens`` clusters similar tokens instead);
3. when an answer is wrong, raises :class:`CheckFailed` (an ``AssertionError``, so the
   cell stops) whose message says in plain words what is wrong: the wrong shape,
   padding counted, not normalised, off by a factor, the max taken over the wrong
   axis... It recognises a mistake by computing what that mistake would have given
   on the same input (the ``mistakes`` of each hidden case);
4. when every answer is right, prints one line saying what was checked.

A function left as the exercise's ``...`` placeholder returns ``None``; the check then
says so, which is the error the unanswered exercise notebooks show (nbval expects it).

Layout: ``lesson00.py`` ... ``lesson09.py`` (and ``lesson01b.py``) hold each exercise's checks and hidden
inputs, ``harness.py`` what they share (:class:`Case`, running, judging, the plain-words verdicts).
The lessons' own tolerance checks, :func:`lateint.tolerance.expect`, are core (the core may use
them; re-exported here). :func:`suite_of` hands a check's cases to a grader (``lateint.grade``)
without running anything.
"""

from ..tolerance import ExpectationFailed, expect
from .harness import CheckFailed, Suite, suite_of
from .lesson00 import check_cosine_scores, check_ndcg_at_10
from .lesson01 import check_embed_pooled, check_gap_verdict, check_mean_pool, check_needle_curve, check_paired_interval
from .lesson01b import check_best_chunk_scores, check_top_documents
from .lesson02 import check_best_matches, check_maxsim, check_maxsim_batched
from .lesson03 import check_encode_queries_batched, check_rerank
from .lesson04 import (
    check_held_out_alpha,
    check_overlap_halves,
    check_paired_gap,
    check_pieces_per_word,
    check_recall_at_k,
    check_rrf,
)
from .lesson05 import check_storage_bytes, check_token_pooling
from .lesson06 import check_gap_remedy, check_largest_losses, check_normalized_scores, check_ranking_share
from .lesson07 import check_contrastive_loss, check_one_change
from .lesson08 import check_point_bytes
from .lesson09 import check_audit_decision

__all__ = [
    "CheckFailed",
    "ExpectationFailed",
    "expect",
    "Suite",
    "suite_of",
    "check_audit_decision",
    "check_best_chunk_scores",
    "check_best_matches",
    "check_contrastive_loss",
    "check_cosine_scores",
    "check_embed_pooled",
    "check_gap_remedy",
    "check_gap_verdict",
    "check_held_out_alpha",
    "check_encode_queries_batched",
    "check_largest_losses",
    "check_maxsim",
    "check_maxsim_batched",
    "check_mean_pool",
    "check_ndcg_at_10",
    "check_needle_curve",
    "check_normalized_scores",
    "check_paired_interval",
    "check_one_change",
    "check_overlap_halves",
    "check_paired_gap",
    "check_pieces_per_word",
    "check_point_bytes",
    "check_ranking_share",
    "check_recall_at_k",
    "check_rerank",
    "check_rrf",
    "check_storage_bytes",
    "check_top_documents",
    "check_token_pooling",
]

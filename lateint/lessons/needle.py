"""Needle in a haystack: one fact, more and more filler, pooled vector vs MaxSim.

Lesson 01's experiment. A document holds one specific fact (the *needle*,
:data:`lateint.lessons.demo.NEEDLE`) in the middle of unrelated filler sentences; the
query asks for that fact. As the filler grows we measure, with the same model
and the same forward pass:

- the needle document's score: pooled cosine, and MaxSim divided by the number of
  query tokens (the average best-match cosine, so both live on the same -1..1 scale);
- the same score for the haystack *without* the needle (the "floor": what filler
  alone earns);
- the needle document's rank among other documents: the demo corpus plus a few
  :data:`NEAR_MISSES`, short on-topic texts that mention the lighthouse but do not
  say where the lens is. A pooled vector that has averaged the needle away
  falls behind them; token-level matching still finds the exact words.

Every haystack is built ``len(seeds)`` times with different filler, and the
results are kept per filling so a lesson can average them or show the spread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..comparison import encode_corpus
from ..index import maxsim_scores
from .demo import NEEDLE, NEEDLE_DOC_ID, NEEDLE_QUERY, demo_corpus, needle_haystack

__all__ = ["DEFAULT_N_FILLER", "NEAR_MISSES", "NeedleResult", "default_distractors", "haystacks", "needle_experiment"]

# Filler sentence counts: with the needle in the middle, 18 fillers stay under the
# 256-token window of the default model (about 13 tokens per filler sentence).
DEFAULT_N_FILLER = (0, 1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18)

# On-topic documents that do NOT answer the needle query (written for this course).
NEAR_MISSES = {
    "near-built": "The Skellig Rock lighthouse was built in 1826, and its keeper lived on the island all year round.",
    "near-supplies": "Every month the Skellig Rock lighthouse keeper rowed to the mainland to collect oil, letters and food.",
    "near-lens": "A lighthouse lens is a ring of glass prisms that bends the lamp's light into a beam ships can see from far out at sea.",
    "near-logbook": "Lighthouse keepers kept a logbook of the weather, passing ships and every hour the lamp was lit.",
    "near-island": "Skellig Rock is a steep island off the coast, home to puffins, gannets and an old stone lighthouse.",
}

def default_distractors() -> dict[str, str]:
    """The documents the needle competes with: the demo corpus without its needle doc, plus :data:`NEAR_MISSES`."""
    ds = demo_corpus()
    docs = {did: text for did, text in zip(ds.doc_ids, ds.doc_texts) if did != NEEDLE_DOC_ID}
    return {**docs, **NEAR_MISSES}


def haystacks(
    n_filler: Sequence[int], seeds: Sequence[int], needle: str = NEEDLE, position: str | float = "middle"
) -> list[list[str]]:
    """``texts[i][s]``: ``needle`` among ``n_filler[i]`` filler sentences drawn with ``seeds[s]``."""
    return [[needle_haystack(needle, n_filler=n, seed=s, position=position) for s in seeds] for n in n_filler]


@dataclass(frozen=True)
class NeedleResult:
    """What :func:`needle_experiment` measured. Tensors have shape ``(len(n_filler), len(seeds))``.

    Attributes:
        n_filler: filler sentences per haystack.
        seeds: one seed per filling.
        tokens: length of each needle document in tokens ([CLS] and [SEP] included).
        scores: ``{method: score of the needle document}``; pooled is a cosine, MaxSim is
            divided by the number of query tokens (average best-match cosine).
        baseline: ``{method: score of the same haystack without the needle}`` (NaN at 0 filler).
        ranks: ``{method: rank of the needle document among the distractors}``, 1 = first
            (ties count in the needle's favour).
        n_distractors: how many other documents it was ranked against.
    """

    n_filler: list[int]
    seeds: list[int]
    tokens: torch.Tensor
    scores: dict[str, torch.Tensor]
    baseline: dict[str, torch.Tensor]
    ranks: dict[str, torch.Tensor]
    n_distractors: int

    def mean_tokens(self) -> list[float]:
        """Average document length per filler count, for the x axis."""
        return self.tokens.float().mean(dim=1).tolist()

    def mean(self, what: str = "scores") -> dict[str, list[float]]:
        """``{method: mean over fillings, per filler count}`` of ``"scores"``, ``"baseline"`` or ``"ranks"``."""
        if what not in ("scores", "baseline", "ranks"):
            raise ValueError(f"what must be 'scores', 'baseline' or 'ranks', got {what!r}.")
        return {m: v.float().mean(dim=1).tolist() for m, v in getattr(self, what).items()}

    def top1_rate(self) -> dict[str, list[float]]:
        """``{method: fraction of fillings in which the needle document ranks first}``, per filler count."""
        return {m: (r == 1).float().mean(dim=1).tolist() for m, r in self.ranks.items()}

    def first_lost(self) -> dict[str, float | None]:
        """``{method: shortest mean length (tokens) at which some filling drops the needle below rank 1}``.

        ``None`` when the method keeps it first at every length tried.
        """
        lengths = self.mean_tokens()
        out: dict[str, float | None] = {}
        for m, r in self.ranks.items():
            lost = [i for i in range(len(lengths)) if bool((r[i] > 1).any())]
            out[m] = lengths[lost[0]] if lost else None
        return out

    def table(self) -> str:
        """:meth:`rows` as a plain-text table (means over fillings; scores to 3 decimals)."""
        head = f"{'fillers':>7} {'tokens':>6} | {'score: pooled':>13} {'MaxSim':>6} | {'no needle: pooled':>17} {'MaxSim':>6} | {'rank: pooled':>12} {'MaxSim':>6}"
        lines = [head, "-" * len(head)]

        def num(v: float, width: int, digits: int) -> str:
            return f"{'-':>{width}}" if math.isnan(v) else f"{v:>{width}.{digits}f}"  # no filler: no baseline

        for r in self.rows():
            lines.append(
                f"{r['n_filler']:>7} {r['tokens']:>6.0f} | {num(r['pooled score'], 13, 3)} {num(r['maxsim score'], 6, 3)} | "
                f"{num(r['pooled no-needle'], 17, 3)} {num(r['maxsim no-needle'], 6, 3)} | "
                f"{num(r['pooled rank'], 12, 1)} {num(r['maxsim rank'], 6, 1)}"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        """The headline numbers, two lines per method: score kept; top-1 rate and first loss of rank 1."""
        tokens, scores, top1, lost = self.mean_tokens(), self.mean("scores"), self.top1_rate(), self.first_lost()
        lines = []
        for m in scores:
            s = scores[m]
            where = "never, at any length tried" if lost[m] is None else f"from {lost[m]:.0f} tokens on"
            lines += [
                (
                    f"{m}: needle alone ({tokens[0]:.0f} tokens) {s[0]:.3f}; at {tokens[-1]:.0f} tokens {s[-1]:.3f} "
                    f"({s[-1] / s[0]:.0%} of it kept)."
                ),
                (
                    f"{m}: ranked first in {top1[m][-1]:.0%} of the fillings at {tokens[-1]:.0f} tokens; "
                    f"loses first place in some filling: {where}."
                ),
            ]
        return "\n".join(lines)

    def rows(self) -> list[dict[str, float]]:
        """One dict per filler count (means over fillings), ready to print as a table."""
        tok, sc, base, rk = self.mean_tokens(), self.mean("scores"), self.mean("baseline"), self.mean("ranks")
        return [
            {"n_filler": n, "tokens": tok[i]}
            | {f"{m} score": sc[m][i] for m in sc}
            | {f"{m} no-needle": base[m][i] for m in base}
            | {f"{m} rank": rk[m][i] for m in rk}
            for i, n in enumerate(self.n_filler)
        ]


def needle_experiment(
    encoder,
    n_filler: Sequence[int] = DEFAULT_N_FILLER,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    query: str = NEEDLE_QUERY,
    needle: str = NEEDLE,
    distractors: Mapping[str, str] | None = None,
    position: str | float = "middle",
    cache: bool = True,
    show_progress: bool | None = None,
) -> NeedleResult:
    """Score the needle document pooled and by MaxSim as its filler grows.

    Args:
        encoder: an :class:`~lateint.encoders.Encoder` with mean pooling (one forward
            pass gives both the pooled and the token vectors; see :mod:`lateint.comparison`).
        n_filler: filler sentence counts to try; every haystack must fit the encoder's
            document window, or the needle (or filler) would be cut off silently.
        seeds: one filling per seed.
        query, needle: the question and the sentence that answers it.
        distractors: ``{doc id: text}`` to rank the needle document against
            (default: :func:`default_distractors`).
        position: where the needle sits, as in :func:`lateint.lessons.demo.needle_haystack`.
        cache: use the on-disk embedding cache.
        show_progress: progress bars while encoding (none for what the cache already holds; default: only
            for 1,000+ texts, as :func:`lateint.comparison.encode_corpus`).
    """
    n_filler, seeds = list(n_filler), list(seeds)
    if not n_filler or not seeds:
        raise ValueError("n_filler and seeds must each hold at least one value.")
    distractors = dict(default_distractors() if distractors is None else distractors)
    if not distractors:
        raise ValueError("distractors is empty: pass {doc id: text} or None for the default set.")
    texts = [t for row in haystacks(n_filler, seeds, needle, position) for t in row]  # (n * s) needle docs
    empty = [" ".join(t.replace(needle.strip(), " ").split()) for t in texts]  # the same filler, no needle
    _check_fits(encoder, texts)

    has_filler = [e != "" for e in empty]
    others = list(distractors.values())
    docs = encode_corpus(encoder, texts + [e for e, ok in zip(empty, has_filler) if ok] + others, "documents", cache,
                         show_progress=show_progress)
    q = encode_corpus(encoder, [query], "queries", cache, show_progress=show_progress)
    n_needle, n_empty = len(texts), sum(has_filler)

    q_tokens = q["tokens"][0]
    pooled = (docs["pooled"] @ q["pooled"][0]).float()  # (all docs,) cosines
    maxsim = maxsim_scores([q_tokens], docs["tokens"])[0] / q_tokens.shape[0]  # (all docs,)

    shape = (len(n_filler), len(seeds))
    scores, baseline, ranks = {}, {}, {}
    for method, s in (("pooled", pooled), ("maxsim", maxsim)):
        needle_s = s[:n_needle]
        other_s = s[n_needle + n_empty :]
        no_needle = torch.full((n_needle,), float("nan"))
        no_needle[torch.tensor(has_filler)] = s[n_needle : n_needle + n_empty]
        scores[method] = needle_s.view(shape)
        baseline[method] = no_needle.view(shape)
        ranks[method] = (1 + (other_s.unsqueeze(0) > needle_s.unsqueeze(1)).sum(dim=1)).view(shape)
    tokens = torch.tensor([v.shape[0] for v in docs["tokens"][:n_needle]]).view(shape)
    return NeedleResult(n_filler, seeds, tokens, scores, baseline, ranks, len(others))


def _check_fits(encoder, texts: list[str]) -> None:
    """Refuse haystacks longer than the encoder's window: truncation would hide the needle."""
    counts = encoder.token_counts(texts)
    limit = encoder.format.doc_length
    if max(counts) > limit:
        raise ValueError(
            f"The longest haystack has {max(counts)} tokens but the encoder reads at most {limit}: the rest "
            "would be cut off. Use fewer filler sentences (smaller n_filler), or load the encoder with a "
            "larger document_length."
        )

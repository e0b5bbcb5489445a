"""Several trained heads that share frozen bottom layers, scored on a corpus with those layers run once."""

from __future__ import annotations

import re
from typing import Sequence

import torch
from tqdm.auto import tqdm

from ..metrics import evaluate, run_depth, run_from_scores
from ..index import maxsim_scores
from .head import Head
from .loop import TrainableHead


def evaluate_heads(
    heads: Sequence[Head],
    ds,
    metrics: Sequence[str] = ("ndcg@10",),
    *,
    frozen_layers: int | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
) -> list[dict[str, float]]:
    """``[head.evaluate(ds, metrics) for head in heads]``, running the shared frozen layers over the corpus once.

    Exhaustive scoring of ``ds``'s whole corpus, as :meth:`Head.evaluate`, by :func:`score_heads`.
    """
    k = run_depth(metrics)
    return [evaluate(run_from_scores(scores, ds.query_ids, ds.doc_ids, k=k), ds.qrels, metrics)
            for scores in score_heads(heads, ds.query_texts, ds.doc_texts, frozen_layers=frozen_layers,
                                      batch_size=batch_size, show_progress=show_progress)]


def shared_frozen_layers(heads: Sequence[Head]) -> int:
    """How many bottom transformer layers ``heads`` left untrained, all of them: from each head's
    ``settings["train_layers"]`` (top ``k`` layers trained: ``layers - k`` frozen; ``"projection"`` or an
    untrained head: every layer but the top one is shared, the top one is run per head anyway). Raises
    ``ValueError`` for a head that trained every layer (``"all"``), embeddings included: nothing is shared.
    """
    n_layers = len(heads[0].encoder.model.encoder.layer)
    frozen = n_layers - 1
    for i, h in enumerate(heads):
        trained = h.settings.get("train_layers", "projection")
        if trained == "all":
            raise ValueError(f"heads[{i}] trained every layer (train_layers='all'), so the heads share no frozen "
                             "layers: score each with head.evaluate(ds) or head.scores(...).")
        if isinstance(trained, int) and not isinstance(trained, bool):
            frozen = min(frozen, n_layers - trained)
    return frozen


def score_heads(
    heads: Sequence[Head],
    queries: Sequence[str],
    documents: Sequence[str],
    *,
    frozen_layers: int | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
) -> list[torch.Tensor]:
    """``[head.scores(queries, documents) for head in heads]``: ``(n_queries, n_documents)`` each,
    computing the documents' pass through the shared frozen layers once.

    ``frozen_layers``: the bottom layers the heads share (default: what their training left frozen,
    :func:`shared_frozen_layers`). ``show_progress``: a bar over each head's batches of documents.

    Heads trained from one backbone with only their top layers training (``train_layers=k``) share
    their bottom ``frozen_layers`` (= layers - k) exactly; when they also tokenize documents alike
    (every pooled head, and late heads without markers or skiplist), each document's input to the
    first trained layer is computed once and each head runs only its own top layers on it. Scoring
    thousands of 256-token abstracts with four heads that train their top 2 of 6 layers then costs
    about two full encodings instead of four. The scores equal :meth:`Head.scores` up to float
    rounding (``tests/test_train.py``). Raises ``ValueError`` when the heads' frozen weights or
    document tokenization differ.
    """
    heads = list(heads)
    if not heads:
        raise ValueError("score_heads() got no heads.")
    n_layers = len(heads[0].encoder.model.encoder.layer)
    if frozen_layers is None:
        frozen_layers = shared_frozen_layers(heads)
    if not isinstance(frozen_layers, int) or isinstance(frozen_layers, bool) or not 0 <= frozen_layers < n_layers:
        raise ValueError(f"frozen_layers must be 0..{n_layers - 1} (layers below the first trained one), got {frozen_layers!r}.")
    ref = heads[0].encoder
    doc_format = lambda enc: (enc.format.doc_marker, enc.format.skiplist, enc.format.doc_length)  # noqa: E731
    for h in heads[1:]:
        if doc_format(h.encoder) != doc_format(ref):
            raise ValueError("These heads tokenize documents differently (markers, skiplist or length); score them apart.")
        theirs = h.encoder.model.state_dict()
        for name, tensor in ref.model.state_dict().items():
            layer = re.match(r"encoder\.layer\.(\d+)\.", name)
            if (layer is None or int(layer.group(1)) < frozen_layers) and not torch.equal(tensor, theirs[name]):
                raise ValueError(f"The heads differ in {name}, below layer {frozen_layers}: they do not share frozen layers.")
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))  # similar lengths per batch: less padding
    shared: dict = {}  # (is_query, text) -> a document's input to layer `frozen_layers`, kept across heads
    out = []
    with torch.no_grad():
        for head in heads:
            model = TrainableHead(head, n_layers - frozen_layers if frozen_layers else "all")
            try:
                model.enc.model.eval()
                model._cache = shared
                starts = tqdm(range(0, len(order), batch_size), desc=f"{head.kind} head, documents",
                              unit=f"x{batch_size}", disable=not show_progress)
                docs = [model.encode([documents[i] for i in order[s : s + batch_size]], is_query=False) for s in starts]
                qs = [model.encode(list(queries[s : s + batch_size]), is_query=True) for s in range(0, len(queries), batch_size)]
                if head.kind == "pooled":
                    scores = torch.cat([v for v, _ in qs]) @ torch.cat([v for v, _ in docs]).T
                else:
                    scores = maxsim_scores([v[i][m[i]] for v, m in qs for i in range(len(v))],
                                           [v[i][m[i]] for v, m in docs for i in range(len(v))])
            finally:
                for key in [key for key in shared if key[0]]:
                    del shared[key]  # queries are tokenized per head (a late head may mark queries only)
                model._cache = {}
                model.finish()
            unsorted = torch.empty_like(scores)
            unsorted[:, order] = scores
            out.append(unsorted)
    return out

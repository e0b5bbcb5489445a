"""Train your own retriever on a CPU: one pooled vector or late interaction, same backbone, same pairs.

The recipe is contrastive training with in-batch negatives, as sentence-transformers trains
all-MiniLM-L6-v2 (``MultipleNegativesRankingLoss``) and as PyLate trains ColBERT models
(``Contrastive``): a batch holds ``B`` (query, relevant document) pairs, every query is scored
against every document of the batch (its own positive, the ``B - 1`` other positives and any hard
negatives), and the loss is the cross-entropy of picking its own positive::

    loss = mean over queries i of  -log softmax_j(score(q_i, d_j) / temperature)[i]

Only the score differs between the two heads:

- ``"pooled"``: mean of the token vectors, L2-normalised, cosine (temperature 0.05 = the scale
  of 20 that sentence-transformers uses);
- ``"late"``: token vectors, an optional linear projection (e.g. 384 -> 128 dims), L2-normalised,
  MaxSim (temperature 1, PyLate's default), with ColBERT's ``[Q]``/``[D]`` markers, ``[MASK]``
  query augmentation and a punctuation skiplist each optional.

Three calls::

    pairs = training_pairs(load_beir("scifact", split="train"), n=200, hard_negatives=1)
    head = train(pairs, "late", steps=100, dim=128)          # or "pooled"
    head.evaluate(load_beir("scifact"))                      # {"ndcg@10": ...}
    head.save("my-colbert")                                  # load_encoder("my-colbert") reads it back

**Zero steps is zero-shot.** :func:`init_head` gives the model before any step; :func:`train`
starts from it. For the pooled head it is all-MiniLM-L6-v2 as it ships; for the late-interaction
head without a projection (``dim=None``) it is MaxSim over the shipped model's normalised token
vectors (``lateint.load_encoder()``'s ``encode_queries``/``encode_documents``), bit for bit.
A projection to fewer dimensions than the hidden size cannot be the identity, so it starts as
the random Gaussian projection of lesson 03 (:func:`lateint.projection.random_projection`, same
seed): N = 0 for a 128-dim head is "zero-shot MiniLM seen through a random 128-dim projection",
which costs a little quality (lesson 03 measures how much). ``dim`` equal to the hidden size
starts as the identity matrix, so it starts exactly at zero-shot and can still be trained.
``steps=0`` is refused by :func:`train` (it would silently train nothing): ask :func:`init_head`.

**What trains.** ``train_layers="projection"`` (the projection only), an int ``k`` (the top ``k``
transformer layers, plus the projection) or ``"all"`` (every weight, embeddings included). When
only the top layers train, the frozen layers' outputs are computed once per text (no grad,
dropout off) and cached, so each step runs only the top layers: much faster on a CPU.

**Determinism.** For one seed on one machine a run is repeatable: batches are drawn with
``random.Random(seed)``, the projection and dropout with ``torch.manual_seed(seed)``.


Layout: :mod:`~lateint.train.pairs` (training pairs and mined negatives), :mod:`~lateint.train.head`
(the two heads and how each starts), :mod:`~lateint.train.loop` (the loss and the loop, frozen layers
cached), :mod:`~lateint.train.multihead` (scoring several heads that share frozen layers: lesson 07,
the training grid) and :mod:`~lateint.train.export` (sentence-transformers and PyLate folders).
"""

from .head import HEADS, TEMPERATURE, Head, init_head
from .loop import contrastive_loss, train
from .multihead import evaluate_heads, score_heads, shared_frozen_layers
from .pairs import Pair, training_pairs

__all__ = [
    "HEADS",
    "Pair",
    "Head",
    "training_pairs",
    "init_head",
    "train",
    "evaluate_heads",
    "score_heads",
    "shared_frozen_layers",
    "TEMPERATURE",
    "contrastive_loss",
]

"""A tiny rule-based agent loop: decompose, retrieve, read, retrieve again.

A question such as "Which instrument does the person who owns the red bicycle
play?" needs two documents, and no single query finds both: the second one
("Mara plays the oboe...") shares nothing with the question but the word "play".
An *agent* asks retrieval two easy questions instead of one hard one:

1. **decompose**: split off the embedded question, "Who owns the red bicycle?";
2. **retrieve** for it;
3. **read** the retrieved text and pull out the missing entity, "Mara";
4. **retrieve again** with the entity filled in: "Which instrument does Mara play?".

Real agents use a language model for steps 1 and 3. Here both are a few regular
expressions, so the loop runs offline and every step is inspectable; they work on
questions shaped like ``"<Wh...> does the person who <clause> <verb>?"`` and on
documents that name people with a capitalised name. That is enough to measure how
the loop changes what retrieval is asked to do (lesson 06), not a general agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..bm25 import BM25, STOPWORDS
from ..compare import METHODS, encode_corpus
from ..evaluate import Run
from ..index import MaxSimIndex, PooledIndex

__all__ = ["Step", "Trace", "Searcher", "decompose", "read_entity", "trace_question", "searcher", "agent_run", "missed"]

# (doc id, score) pairs, best first, for a query and a number of results.
Searcher = Callable[[str, int], list[tuple[str, float]]]

# "<head> the person who <clause> <verb>?" -- e.g. head "Which instrument does",
# clause "owns the red bicycle", verb "play". The clause is greedy: the verb is the last word.
_NESTED = re.compile(r"(?P<head>.*?)\bthe (?:person|one) who (?P<clause>.+) (?P<verb>\w+)\s*\?\s*$", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\b")


@dataclass
class Step:
    """One retrieval: the query sent, what came back ``(doc id, score)`` best first, and a note."""

    query: str
    results: list[tuple[str, float]]
    note: str = ""


@dataclass
class Trace:
    """What the agent did for one question."""

    question: str
    steps: list[Step] = field(default_factory=list)
    entity: str | None = None

    @property
    def retrieved(self) -> list[str]:
        """Doc ids in the order the agent first saw them, each once."""
        seen: list[str] = []
        for step in self.steps:
            seen += [d for d, _ in step.results if d not in seen]
        return seen

    def __str__(self) -> str:
        lines = [f"question: {self.question}"]
        for i, s in enumerate(self.steps, start=1):
            lines.append(f"  hop {i}: {s.query!r} -> {[d for d, _ in s.results]}" + (f"  ({s.note})" if s.note else ""))
        return "\n".join(lines)


def decompose(question: str) -> tuple[str, str] | None:
    """Split a nested question into a first question and a follow-up with an ``{entity}`` slot.

    >>> decompose("Which instrument does the person who owns the red bicycle play?")
    ('Who owns the red bicycle?', 'Which instrument does {entity} play?')

    Returns ``None`` when no rule matches (the agent then retrieves once, like a plain search).
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be a non-empty string, got {question!r}")
    m = _NESTED.match(question.strip())
    if not m:
        return None
    head = m.group("head").strip()
    follow_up = (head + " " if head else "") + "{entity} " + m.group("verb") + "?"
    return f"Who {m.group('clause').strip()}?", follow_up


def read_entity(text: str, question: str) -> str | None:
    """The first capitalised name in ``text`` that is not a function word and not already in ``question``.

    >>> read_entity("Mara owns the red bicycle.", "Who owns the red bicycle?")
    'Mara'
    """
    asked = set(re.findall(r"\w+", question.lower()))
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and (words[0].lower() in STOPWORDS or words[0].lower() in asked):
            words = words[1:]  # a sentence-initial "The" or a name the question already has
        if words:
            return " ".join(words)
    return None


def trace_question(question: str, search: Searcher, texts: Mapping[str, str], k: int = 1) -> Trace:
    """Answer-finding loop for one question: decompose, retrieve, read, retrieve again.

    Args:
        question: the user's question.
        search: ``search(query, k)`` -> ``[(doc id, score), ...]`` best first (see :func:`searcher`).
        texts: doc id -> text, for the "read" step.
        k: documents retrieved per hop.

    Returns:
        A :class:`Trace`: one step if the question is not nested or no entity was read, else two.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    trace = Trace(question)
    parts = decompose(question)
    if parts is None:
        trace.steps.append(Step(question, search(question, k), "no rule matched: one plain search"))
        return trace
    first, follow_up = parts
    results = search(first, k)
    for doc_id, _ in results:
        trace.entity = read_entity(texts[doc_id], first)
        if trace.entity:
            break
    if trace.entity is None:
        trace.steps.append(Step(first, results, "read no entity: stopping"))
        return trace
    trace.steps.append(Step(first, results, f"read entity {trace.entity!r}"))
    second = follow_up.format(entity=trace.entity)
    trace.steps.append(Step(second, search(second, k)))
    return trace


def searcher(method: str, doc_ids: Sequence[str], texts: Sequence[str], encoder=None) -> Searcher:
    """A ``search(query, k)`` function over a fixed corpus, for ``"pooled"``, ``"maxsim"`` or ``"bm25"``.

    Documents are encoded once (through the embedding cache); each query is encoded when searched.
    """

    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}: choose from {METHODS}.")
    if method == "bm25":

        bm25 = BM25(doc_ids, texts)

        def search_bm25(query: str, k: int) -> list[tuple[str, float]]:
            return bm25.search([query], k=k)[0]

        return search_bm25
    if encoder is None:
        raise ValueError(f"Method {method!r} needs an encoder: pass encoder=lateint.load_encoder().")
    key = "pooled" if method == "pooled" else "tokens"
    vectors = encode_corpus(encoder, texts, "documents", want=(key,))
    index = PooledIndex(doc_ids, vectors[key]) if method == "pooled" else MaxSimIndex(doc_ids, vectors[key])

    def search_dense(query: str, k: int) -> list[tuple[str, float]]:
        return index.search(encode_corpus(encoder, [query], "queries", cache=False, show_progress=False, want=(key,))[key], k)[0]

    return search_dense


def agent_run(ds, search: Searcher, k: int = 1) -> tuple[Run, list[Trace]]:
    """Run the agent on every query of ``ds``; return a run (documents in the order the
    agent retrieved them) for :func:`lateint.evaluate.evaluate`, and the traces."""
    texts = dict(zip(ds.doc_ids, ds.doc_texts))
    run: Run = {}
    traces = []
    for qid, question in ds.queries.items():
        trace = trace_question(question, search, texts, k)
        seen = trace.retrieved
        run[qid] = {did: float(len(seen) - i) for i, did in enumerate(seen)}
        traces.append(trace)
    return run, traces


def missed(ds, traces: Sequence[Trace]) -> list[Trace]:
    """The traces (from :func:`agent_run` on ``ds``) whose retrieved documents lack a relevant one."""
    if len(traces) != len(ds.queries):
        raise ValueError(f"{len(traces)} traces for {len(ds.queries)} queries: pass agent_run(ds, ...)'s traces")
    out = []
    for qid, trace in zip(ds.query_ids, traces):
        relevant = {d for d, g in ds.qrels.get(qid, {}).items() if g > 0}
        if not relevant <= set(trace.retrieved):
            out.append(trace)
    return out

"""A tiny agent loop: decompose, retrieve, read, retrieve again.

A question such as "Which instrument does the person who owns the red bicycle
play?" needs two documents, and no single query finds both: the second one
("Mara plays the oboe...") shares nothing with the question but the word "play".
An *agent* asks retrieval two easy questions instead of one hard one:

1. **decompose**: split off the embedded question, "Who owns the red bicycle?";
2. **retrieve** for it;
3. **read** the retrieved text and pull out the missing entity, "Mara";
4. **retrieve again** with the entity filled in: "Which instrument does Mara play?".

:func:`trace_question` runs that loop with any :class:`Decomposer`: an object that
turns a question into the first searches to run, and, given what those found, into
the next ones (or none: stop). Real agents put a language model there. Offline, the
course uses :class:`RuleDecomposer`: two regular expressions (:func:`decompose`,
:func:`read_entity`) written for the lesson's question template ``"<Wh...> does the
person who <clause> <verb>?"`` and for documents that name people with a capitalised
name. Its rules have not changed since the held-out questions of
:mod:`lateint.lessons.agent_questions` were written; how it does on them is measured
by :mod:`lateint.lessons.agent_eval`, against budget-matched single searches.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..bm25 import BM25, STOPWORDS
from ..comparison import METHODS, encode_corpus
from ..metrics import Run
from ..index import MaxSimIndex, PooledIndex

__all__ = [
    "Step",
    "Trace",
    "Searcher",
    "Decomposer",
    "RuleDecomposer",
    "Queries",
    "OneSearch",
    "Feedback",
    "WithFallback",
    "decompose",
    "read_entity",
    "trace_question",
    "searcher",
    "agent_run",
    "missed",
]

# (doc id, score) pairs, best first, for a query and a number of results.
Searcher = Callable[[str, int], list[tuple[str, float]]]

# What the loop has found so far, one entry per search: (query sent, texts retrieved best first).
Found = Sequence[tuple[str, Sequence[str]]]

# "<head> the person who <clause> <verb>?" -- e.g. head "Which instrument does",
# clause "owns the red bicycle", verb "play". The clause is greedy: the verb is the last word.
_NESTED = re.compile(r"(?P<head>.*?)\bthe (?:person|one) who (?P<clause>.+) (?P<verb>\w+)\s*\?\s*$", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\b")


@runtime_checkable
class Decomposer(Protocol):
    r"""What the agent loop asks before each search: which queries to send.

    ``decomposer(question)`` returns the first sub-queries (a list of strings, searched in
    order); ``decomposer.follow_up(question, found)`` gets everything found so far, as
    ``[(query, [retrieved text, ...]), ...]`` one entry per search, and returns the next
    sub-queries, or ``[]`` when there is nothing more to ask. Neither may return an
    empty or non-string query; either may return a :class:`Queries` to add a note to the
    trace. :func:`trace_question` stops at its ``max_calls`` searches whatever the
    decomposer asks.

    A language model plugs in with a prompt for each step (no network call is made
    here; ``complete`` is any ``prompt -> reply`` function you supply)::

        class LLMDecomposer:
            def __init__(self, complete):  # e.g. a call to your model's chat API
                self.complete = complete

            def __call__(self, question):
                reply = self.complete("Write the search queries to run first to answer this "
                                      f"question, one a line:\n{question}")
                return [line.strip() for line in reply.splitlines() if line.strip()]

            def follow_up(self, question, found):
                notes = "\n".join(f"searched {q!r}, found: " + " | ".join(texts) for q, texts in found)
                reply = self.complete(f"Question: {question}\n{notes}\nWrite the next search queries, "
                                      "one a line, or nothing if these documents answer the question.")
                return [line.strip() for line in reply.splitlines() if line.strip()]

        trace_question(question, search, texts, decomposer=LLMDecomposer(my_model))
    """

    def __call__(self, question: str) -> list[str]: ...

    def follow_up(self, question: str, found: Found) -> list[str]: ...


@dataclass
class Step:
    """One retrieval: the query sent, what came back ``(doc id, score)`` best first, and a note."""

    query: str
    results: list[tuple[str, float]]
    note: str = ""


@dataclass
class Trace:
    """What the agent did for one question: its searches in order, why it stopped ("nothing more
    to ask", or "the budget of N searches is spent", the only one ``str`` shows), and how long
    the whole question took (``seconds``: wall time of the decomposer and the searches)."""

    question: str
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""
    seconds: float = 0.0

    @property
    def calls(self) -> int:
        """Retrieval calls made: one per step."""
        return len(self.steps)

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
        if self.stopped.startswith("the budget"):
            lines.append(f"  stopped: {self.stopped}")
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


class Queries(list):
    """A decomposer's list of queries with a ``note`` for the trace: what it read, or why it
    stops. :func:`trace_question` writes the note on the search it was asked after (for
    ``follow_up``) or on the first search it asks for (for ``__call__``). A plain list works too."""

    def __init__(self, queries: Sequence[str] = (), note: str = ""):
        super().__init__(queries)
        self.note = note


class RuleDecomposer:
    """The offline :class:`Decomposer`: :func:`decompose` the question; after the first search,
    :func:`read_entity` from its results (best first) and ask the follow-up with the entity in.

    A question no rule matches is searched as it is, once. The rules were written for
    the lesson's template; see :mod:`lateint.lessons.agent_eval` for how they do on others.
    """

    def __call__(self, question: str) -> list[str]:
        parts = decompose(question)
        return Queries([question], "no rule matched: one plain search") if parts is None else [parts[0]]

    def follow_up(self, question: str, found: Found) -> list[str]:
        parts = decompose(question)
        if parts is None or len(found) != 1:
            return []
        first, template = parts
        for text in found[0][1]:
            entity = read_entity(text, first)
            if entity:
                return Queries([template.replace("{entity}", entity)], f"read entity {entity!r}")
        return Queries([], "read no entity: stopping")


class OneSearch:
    """A :class:`Decomposer` that searches the question as it is, once: the single-shot baseline."""

    def __call__(self, question: str) -> list[str]:
        return [question]

    def follow_up(self, question: str, found: Found) -> list[str]:
        return []


class Feedback:
    """A :class:`Decomposer` that reformulates without parsing the question (pseudo-relevance
    feedback): search the question, then the question followed by the best text the last
    search found, and so on until the loop's ``max_calls``. The budget-matched baseline for
    an agent that makes the same number of searches."""

    def __call__(self, question: str) -> list[str]:
        return [question]

    def follow_up(self, question: str, found: Found) -> list[str]:
        texts = found[-1][1] if found else []
        return [f"{question} {texts[0]}"] if texts else []


class WithFallback:
    """A :class:`Decomposer` that spends the budget when ``inner`` does not split the question.

    As long as ``inner`` searched the question as it is and asks nothing more, search the
    question again; with ``new_only`` in :func:`trace_question` each repeat brings the next
    documents, so an unsplit question costs what one search of ``k·max_calls`` would.
    """

    def __init__(self, inner: Decomposer | None = None):
        self.inner = RuleDecomposer() if inner is None else inner

    def __call__(self, question: str) -> list[str]:
        return self.inner(question)

    def follow_up(self, question: str, found: Found) -> list[str]:
        asked = self.inner.follow_up(question, found)
        if asked or any(q != question for q, _ in found):
            return asked
        return [question]


def _queries(asked: object, who: str) -> list[str]:
    """Check what a decomposer returned: a list of non-empty strings."""
    if not isinstance(asked, (list, tuple)) or not all(isinstance(q, str) and q.strip() for q in asked):
        raise TypeError(f"the decomposer's {who} must return a list of non-empty strings, got {asked!r}")
    return list(asked)


def trace_question(
    question: str,
    search: Searcher,
    texts: Mapping[str, str],
    k: int = 1,
    decomposer: Decomposer | None = None,
    max_calls: int = 2,
    new_only: bool = False,
) -> Trace:
    """Answer-finding loop for one question: decompose, retrieve, read, retrieve again.

    Args:
        question: the user's question.
        search: ``search(query, k)`` -> ``[(doc id, score), ...]`` best first (see :func:`searcher`).
        texts: doc id -> text, for the "read" step.
        k: documents kept per search.
        decomposer: a :class:`Decomposer`; default :class:`RuleDecomposer`.
        max_calls: the most searches made for the question, whatever the decomposer asks.
        new_only: keep, from each search, the ``k`` best documents not kept before (the search
            is asked for more to make up for the ones skipped), so every call brings ``k`` new
            documents; ``False`` keeps its top ``k`` as they come.

    Returns:
        A :class:`Trace` of at most ``max_calls`` steps, with its wall time.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if not isinstance(max_calls, int) or max_calls < 1:
        raise ValueError(f"max_calls must be a positive int, got {max_calls!r}")
    decomposer = RuleDecomposer() if decomposer is None else decomposer
    start = time.perf_counter()
    trace = Trace(question)
    asked = decomposer(question)
    pending, note = _queries(asked, "__call__"), getattr(asked, "note", "")
    found: list[tuple[str, list[str]]] = []
    while pending:
        if trace.calls == max_calls:
            trace.stopped = f"the budget of {max_calls} searches is spent"
            break
        query = pending.pop(0)
        seen = set(trace.retrieved) if new_only else set()
        results = [r for r in search(query, k + len(seen)) if r[0] not in seen][:k]
        trace.steps.append(Step(query, results, note))
        note = ""
        found.append((query, [texts[d] for d, _ in results]))
        if not pending:
            asked = decomposer.follow_up(question, found)
            pending = _queries(asked, "follow_up")
            if getattr(asked, "note", ""):
                trace.steps[-1].note = asked.note
    else:
        trace.stopped = "nothing more to ask"
    trace.seconds = time.perf_counter() - start
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


def agent_run(
    ds,
    search: Searcher,
    k: int = 1,
    decomposer: Decomposer | None = None,
    max_calls: int = 2,
    new_only: bool = False,
    show_progress: bool | str = False,
) -> tuple[Run, list[Trace]]:
    """Run :func:`trace_question` on every query of ``ds``; return a run (documents in the order
    the agent retrieved them) for :func:`lateint.metrics.evaluate`, and the traces.

    ``k``, ``decomposer``, ``max_calls`` and ``new_only`` as for :func:`trace_question`;
    ``show_progress``: a progress bar over the questions; a string also names it (``"bm25"`` shows
    ``bm25: questions``), so that several runs in one cell can be told apart.
    """
    from tqdm.auto import tqdm

    texts = dict(zip(ds.doc_ids, ds.doc_texts))
    run: Run = {}
    traces = []
    for qid, question in tqdm(ds.queries.items(), total=len(ds.queries), unit="question", disable=not show_progress,
                              desc=f"{show_progress}: questions" if isinstance(show_progress, str) else "questions"):
        trace = trace_question(question, search, texts, k, decomposer, max_calls, new_only)
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

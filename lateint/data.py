"""Load retrieval datasets in the BEIR format.

A BEIR dataset is a folder with three parts:

    <name>/corpus.jsonl       one JSON object per line: {"_id", "title", "text", ...}
    <name>/queries.jsonl      one JSON object per line: {"_id", "text", ...}
    <name>/qrels/<split>.tsv  header "query-id<TAB>corpus-id<TAB>score", then one
                              judgement per line: query id, doc id, integer grade

Extra JSON fields (such as "metadata") are ignored. Ids are strings and may contain
spaces (LIMIT-small uses names like "Geneva Durben"), so qrels are split on TAB only.

Where the folders live (the first rule that applies wins):

1. the `data_dir` argument,
2. the environment variable LATEINT_DATA,
3. a `shared/datasets` folder next to the current directory or next to this package,
   or next to any of their parent folders (the course machines keep the datasets in
   ../shared/datasets as seen from the repository),
4. the user cache, ~/.cache/lateint/datasets (or $XDG_CACHE_HOME/lateint/datasets).

If a dataset is missing, `load_beir` downloads it (see `lateint.download`): the BEIR
datasets from BEIR's official server (checked against the published MD5), LIMIT-small
from the google-deepmind/limit GitHub repository (checked against git blob SHA-1s),
written atomically, so a failure never leaves a partial dataset behind.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from .download import (
    DOWNLOADABLE,
    ENV_VAR,
    DownloadError,
    Fetch,
    check_name,
    download,
    read_jsonl,
)

# ---------------------------------------------------------------------------
# The dataset object
# ---------------------------------------------------------------------------


def doc_text(doc: dict) -> str:
    """The text a model sees for one corpus document: title and body joined by a space.

    This is how BEIR and MTEB feed a document to a dense model, so using it is needed
    to reproduce published scores. An empty title gives just the body.
    """
    return (doc.get("title", "") + " " + doc.get("text", "")).strip()


@dataclass(frozen=True)
class BeirDataset:
    """One split of a retrieval dataset, held in memory.

    corpus:  doc id -> {"title": str, "text": str}, in file order
    queries: query id -> query text; only the queries judged in this split's qrels
    qrels:   query id -> {doc id: grade}; grade > 0 means relevant (higher is better)

    Every query id in qrels must be in queries and every judged doc id in corpus;
    constructing a dataset that breaks this raises ValueError.
    """

    name: str
    corpus: dict[str, dict[str, str]] = field(repr=False)
    queries: dict[str, str] = field(repr=False)
    qrels: dict[str, dict[str, int]] = field(repr=False)
    split: str = "test"

    def __post_init__(self) -> None:
        for qid, judged in self.qrels.items():
            if qid not in self.queries:
                raise ValueError(f"qrels query id {qid!r} is not in the queries")
            for did in judged:
                if did not in self.corpus:
                    raise ValueError(f"qrels for query {qid!r} name doc id {did!r}, which is not in the corpus")

    @property
    def doc_ids(self) -> list[str]:
        """Corpus doc ids in file order (the row order of any doc matrix you build)."""
        return list(self.corpus)

    @property
    def doc_texts(self) -> list[str]:
        """`doc_text` of every document, aligned with `doc_ids`."""
        return [doc_text(doc) for doc in self.corpus.values()]

    @property
    def query_ids(self) -> list[str]:
        return list(self.queries)

    @property
    def query_texts(self) -> list[str]:
        """Query texts aligned with `query_ids`."""
        return list(self.queries.values())

    def __repr__(self) -> str:
        n_judgements = sum(len(judged) for judged in self.qrels.values())
        return (
            f"BeirDataset(name={self.name!r}, split={self.split!r}, docs={len(self.corpus)}, "
            f"queries={len(self.queries)}, qrels={n_judgements})"
        )


# ---------------------------------------------------------------------------
# Where the data lives
# ---------------------------------------------------------------------------

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find_shared_datasets(start: Path) -> Path | None:
    """The first `shared/datasets` folder found in `start` or one of its parents."""
    for folder in [start, *start.parents]:
        candidate = folder / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return None


def _user_cache_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "lateint" / "datasets"


def default_data_dir() -> Path:
    """The folder that holds the datasets when no `data_dir` is passed.

    LATEINT_DATA if set, else a `shared/datasets` folder above the current directory
    or above this package, else the user cache (which may not exist yet).
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    for start in (Path.cwd(), _PACKAGE_DIR):
        found = _find_shared_datasets(start)
        if found is not None:
            return found
    return _user_cache_dir()


def _resolve(data_dir: str | Path | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def available_datasets(data_dir: str | Path | None = None) -> list[str]:
    """Names of the dataset folders (those with a corpus.jsonl) in the data directory."""
    root = _resolve(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "corpus.jsonl").is_file())


# ---------------------------------------------------------------------------
# Reading the three files
# ---------------------------------------------------------------------------


def _add_unique(table: dict, key: str, value, path: Path, line_no: int) -> None:
    if key in table:
        raise ValueError(f"{path}:{line_no}: duplicate id {key!r}")
    table[key] = value


def read_corpus(path: str | Path) -> dict[str, dict[str, str]]:
    """corpus.jsonl -> {doc id: {"title": str, "text": str}} (a missing title becomes "")."""
    path = Path(path)
    corpus: dict[str, dict[str, str]] = {}
    for line_no, obj in read_jsonl(path, required=("_id", "text")):
        doc = {"title": str(obj.get("title") or ""), "text": str(obj["text"] or "")}
        _add_unique(corpus, str(obj["_id"]), doc, path, line_no)
    if not corpus:
        raise ValueError(f"{path} holds no documents")
    return corpus


def read_queries(path: str | Path) -> dict[str, str]:
    """queries.jsonl -> {query id: text}."""
    path = Path(path)
    queries: dict[str, str] = {}
    for line_no, obj in read_jsonl(path, required=("_id", "text")):
        _add_unique(queries, str(obj["_id"]), str(obj["text"]), path, line_no)
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """qrels/<split>.tsv -> {query id: {doc id: grade}}.

    Lines are split on TAB only (ids may contain spaces); "\\r\\n" endings are fine.
    The first line is skipped when its third column is not an integer (the header).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            columns = line.split("\t")
            if len(columns) != 3:
                raise ValueError(
                    f"{path}:{line_no}: expected 3 TAB-separated columns "
                    f"(query-id, corpus-id, score), found {len(columns)}: {line!r}"
                )
            qid, did, grade_text = columns
            try:
                grade = int(grade_text)
            except ValueError:
                if line_no == 1:  # the header, e.g. "query-id  corpus-id  score"
                    continue
                raise ValueError(f"{path}:{line_no}: score {grade_text!r} is not an integer") from None
            judged = qrels.setdefault(qid, {})
            if judged.get(did, grade) != grade:
                raise ValueError(
                    f"{path}:{line_no}: query {qid!r} judges doc {did!r} twice with different "
                    f"grades ({judged[did]} and {grade})"
                )
            judged[did] = grade
    if not qrels:
        raise ValueError(f"{path} holds no judgements")
    return qrels


def load_beir(
    name: str,
    split: str = "test",
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
) -> BeirDataset:
    """Load one split of a BEIR-format dataset from `<data dir>/<name>/`.

    Only the queries judged in qrels/<split>.tsv are kept. When the folder is missing
    and `download` is true, a known dataset (see DOWNLOADABLE) is downloaded first.

    >>> ds = load_beir("scifact")            # doctest: +SKIP
    >>> ds                                   # doctest: +SKIP
    BeirDataset(name='scifact', split='test', docs=5183, queries=300, qrels=339)
    """
    check_name(name)
    root = _resolve(data_dir)
    folder = root / name
    if not folder.is_dir():
        if not (download and name in DOWNLOADABLE):
            found = available_datasets(root)
            raise FileNotFoundError(
                f"no dataset folder {folder}. Datasets found in {root}: "
                f"{', '.join(found) if found else 'none'}. "
                f"Downloadable by name: {', '.join(sorted(DOWNLOADABLE))}. "
                f"To use your own data, put corpus.jsonl, queries.jsonl and qrels/{split}.tsv in "
                f"{folder}, or point {ENV_VAR} (or data_dir=) at the folder that holds {name}/."
            )
        download_dataset(name, root)

    qrels_dir = folder / "qrels"
    splits = sorted(p.stem for p in qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []
    if split not in splits:
        raise ValueError(
            f"dataset {name!r} has no split {split!r} (no file {qrels_dir / (split + '.tsv')}); "
            f"available splits: {', '.join(splits) if splits else 'none'}"
        )
    corpus = read_corpus(folder / "corpus.jsonl")
    all_queries = read_queries(folder / "queries.jsonl")
    qrels = read_qrels(qrels_dir / f"{split}.tsv")
    queries = {qid: all_queries[qid] for qid in qrels if qid in all_queries}
    try:
        return BeirDataset(name=name, corpus=corpus, queries=queries, qrels=qrels, split=split)
    except ValueError as e:  # a qrels id missing from queries.jsonl or corpus.jsonl
        raise ValueError(f"{qrels_dir / (split + '.tsv')} does not match {folder}: {e}") from None


# ---------------------------------------------------------------------------
# A lesson-size slice
# ---------------------------------------------------------------------------


def subsample(ds: BeirDataset, n_queries: int | None, n_distractors: int, seed: int = 0) -> BeirDataset:
    """A smaller copy of `ds`: some queries, all their judged docs, plus random distractors.

    n_queries:     how many queries to keep (None keeps them all)
    n_distractors: how many documents judged for none of the kept queries to add
    seed:          the same seed always gives the same slice (ids are sorted before
                   sampling with random.Random(seed), so Python's hash seed does not matter)

    Documents and queries keep their original order.
    """
    for label, value in (("n_distractors", n_distractors), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{label} must be an int, got {value!r}")
    if n_queries is not None and (not isinstance(n_queries, int) or isinstance(n_queries, bool)):
        raise TypeError(f"n_queries must be an int or None, got {n_queries!r}")
    rng = random.Random(seed)

    all_qids = sorted(ds.qrels)
    if n_queries is None:
        kept_qids = set(all_qids)
    elif not 1 <= n_queries <= len(all_qids):
        raise ValueError(f"n_queries must be between 1 and {len(all_qids)} for {ds.name!r}, got {n_queries}")
    else:
        kept_qids = set(rng.sample(all_qids, n_queries))

    judged = {did for qid in kept_qids for did in ds.qrels[qid]}
    others = sorted(set(ds.corpus) - judged)
    if not 0 <= n_distractors <= len(others):
        raise ValueError(
            f"n_distractors must be between 0 and {len(others)} (the documents not judged for the "
            f"chosen queries), got {n_distractors}"
        )
    kept_docs = judged | set(rng.sample(others, n_distractors))

    return BeirDataset(
        name=f"{ds.name}[{len(kept_qids)}q+{n_distractors}d,seed={seed}]",
        corpus={did: doc for did, doc in ds.corpus.items() if did in kept_docs},
        queries={qid: text for qid, text in ds.queries.items() if qid in kept_qids},
        qrels={qid: dict(j) for qid, j in ds.qrels.items() if qid in kept_qids},
        split=ds.split,
    )


def download_dataset(name: str, data_dir: str | Path | None = None, *, fetch: Fetch | None = None) -> Path:
    """Download a known dataset (see ``lateint.download.DOWNLOADABLE``) into ``<data dir>/<name>/``.

    The data dir is found as for :func:`load_beir`; see :func:`lateint.download.download` for the
    checks and the atomic write. Returns the dataset's folder.
    """
    check_name(name)
    root = _resolve(data_dir)
    try:
        return download(name, root, fetch=fetch)
    except DownloadError as e:
        if "cannot write" not in str(e):
            raise
        raise DownloadError(f"{e} Set {ENV_VAR} (or pass data_dir=) to a writable folder.") from e.__cause__

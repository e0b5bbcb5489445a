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

If a dataset is missing, `load_beir` downloads it: the BEIR datasets from BEIR's
official server (checked against the published MD5), LIMIT-small from the
google-deepmind/limit GitHub repository (checked against git blob SHA-1s). A download
is written atomically: it lands in a temporary folder inside the data directory and is
moved into place only after every check passed, so a failure never leaves a partial
dataset behind.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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

ENV_VAR = "LATEINT_DATA"
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


def _read_jsonl(path: Path, required: tuple[str, ...]):
    """Yield (line number, object) for each non-blank line; check the required keys."""
    if not path.is_file():
        raise FileNotFoundError(f"missing file {path}")
    with open(path, encoding="utf-8-sig") as f:  # -sig: tolerate a BOM
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
            for key in required:
                if key not in obj:
                    raise ValueError(f"{path}:{line_no}: missing the field {key!r}")
            yield line_no, obj


def _add_unique(table: dict, key: str, value, path: Path, line_no: int) -> None:
    if key in table:
        raise ValueError(f"{path}:{line_no}: duplicate id {key!r}")
    table[key] = value


def read_corpus(path: str | Path) -> dict[str, dict[str, str]]:
    """corpus.jsonl -> {doc id: {"title": str, "text": str}} (a missing title becomes "")."""
    path = Path(path)
    corpus: dict[str, dict[str, str]] = {}
    for line_no, obj in _read_jsonl(path, required=("_id", "text")):
        doc = {"title": str(obj.get("title") or ""), "text": str(obj["text"] or "")}
        _add_unique(corpus, str(obj["_id"]), doc, path, line_no)
    if not corpus:
        raise ValueError(f"{path} holds no documents")
    return corpus


def read_queries(path: str | Path) -> dict[str, str]:
    """queries.jsonl -> {query id: text}."""
    path = Path(path)
    queries: dict[str, str] = {}
    for line_no, obj in _read_jsonl(path, required=("_id", "text")):
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


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"dataset name must be a plain folder name like 'scifact', got {name!r}")


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
    _check_name(name)
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


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"

# MD5 of each official BEIR zip, as published in the table of BEIR's README
# (github.com/beir-cellar/beir). cqadupstack is left out: its zip holds 12 sub-datasets.
BEIR_MD5 = {
    "msmarco": "444067daf65d982533ea17ebd59501e4",
    "trec-covid": "ce62140cb23feb9becf6270d0d1fe6d1",
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "nq": "d4d3d2e48787a744b6f6e691ff534307",
    "hotpotqa": "f412724f78b0d91183a0e86805e16114",
    "fiqa": "17918ed23cd04fb15047f73e6c3bd9d9",
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
    "webis-touche2020": "46f650ba5a527fc69e0a6521c5a23563",
    "quora": "18fb154900ba42a600f84b839c173167",
    "dbpedia-entity": "c2a39eb420a3164af735795df012ac2c",
    "scidocs": "38121350fc3a4d2f48850f6aff52e4a9",
    "fever": "5a818580227bfb4b35bb6fa46d9b6c03",
    "climate-fever": "8b66f0a9126c521bae2bde127b4dc99d",
    "scifact": "5f7d1de60b170fc8027bb7898e2efca1",
}

# LIMIT-small (Weller et al. 2025) lives in the google-deepmind/limit repository, pinned
# to one commit. Each file is checked against its git blob SHA-1 at that commit.
LIMIT_SMALL_URL = (
    "https://raw.githubusercontent.com/google-deepmind/limit/"
    "90c5dd3a7c3c0d68bc6cc7a0c5b0f4ca124dfdcb/data/limit-small/{file}"
)
LIMIT_SMALL_BLOBS = {
    "corpus.jsonl": "c8181adc9ddbffa6aa78265f5306f76b550aaaa8",
    "queries.jsonl": "43687649bd6d5624a8f620a4680f6bf011342bcc",
    "qrels.jsonl": "8572095d494d5524e851da66b8006b3a1bbab6db",
}

DOWNLOADABLE = set(BEIR_MD5) | {"limit-small"}

Fetch = Callable[[str, Path], None]


class DownloadError(RuntimeError):
    """A dataset could not be downloaded, or what came down failed its checksum."""


def fetch_url(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Download `url` into the file `dest`, streamed in 1 MiB pieces."""
    request = urllib.request.Request(url, headers={"User-Agent": "lateint"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f, length=1 << 20)


def _file_digest(path: Path, algorithm: str, prefix: bytes = b"") -> str:
    h = hashlib.new(algorithm)
    h.update(prefix)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: Path) -> str:
    """The id git gives a file's content: SHA-1 of b"blob <size>\\0" + content."""
    return _file_digest(path, "sha1", prefix=b"blob %d\0" % path.stat().st_size)


def _fetch(fetch: Fetch, url: str, dest: Path, name: str, target: Path) -> None:
    try:
        fetch(url, dest)
    except (OSError, http.client.HTTPException) as e:
        raise DownloadError(
            f"dataset {name!r} is not in {target} and downloading it from {url} failed ({e}). "
            f"Fix: check your internet connection and retry, or copy the dataset there yourself "
            f"(a folder {name}/ with corpus.jsonl, queries.jsonl, qrels/test.tsv), or set "
            f"{ENV_VAR} (or pass data_dir=) to a folder that already contains {name}/corpus.jsonl."
        ) from e


def _safe_extract(zip_path: Path, dest: Path) -> None:
    """Unzip, refusing members that would land outside `dest` (e.g. '../x' or '/etc/x')."""
    dest = dest.resolve()
    with zipfile.ZipFile(zip_path) as zf:
        for member in zf.namelist():
            if not (dest / member).resolve().is_relative_to(dest):
                raise DownloadError(f"{zip_path.name} holds an unsafe path {member!r}; not extracting it")
        zf.extractall(dest)


def _download_beir_zip(name: str, tmp: Path, target: Path, fetch: Fetch) -> Path:
    """Fetch <name>.zip into tmp, check its MD5, unzip; return the extracted dataset folder."""
    url = BEIR_URL.format(name=name)
    zip_path = tmp / f"{name}.zip"
    _fetch(fetch, url, zip_path, name, target)
    expected, actual = BEIR_MD5[name], _file_digest(zip_path, "md5")
    if actual != expected:
        raise DownloadError(
            f"{url} downloaded but its MD5 is {actual}, not the published {expected}: the file is "
            f"corrupt or was changed. Nothing was written to {target}; retry the download."
        )
    try:
        _safe_extract(zip_path, tmp / "unzipped")
    except zipfile.BadZipFile as e:
        raise DownloadError(f"{url} is not a valid zip file ({e})") from None
    for folder in (tmp / "unzipped" / name, tmp / "unzipped"):
        if (folder / "corpus.jsonl").is_file():
            if not (folder / "queries.jsonl").is_file() or not list(folder.glob("qrels/*.tsv")):
                raise DownloadError(f"{name}.zip lacks queries.jsonl or qrels/*.tsv; cannot use it")
            return folder
    raise DownloadError(f"{name}.zip holds no {name}/corpus.jsonl; cannot use it")


def qrels_jsonl_to_tsv(src: Path, dest: Path) -> None:
    """Convert JSON-lines qrels {"query-id", "corpus-id", "score"} to BEIR's TSV form."""
    lines = ["query-id\tcorpus-id\tscore\n"]
    for line_no, row in _read_jsonl(src, required=("query-id", "corpus-id", "score")):
        qid, did = str(row["query-id"]), str(row["corpus-id"])
        if any(c in qid + did for c in "\t\r\n"):
            raise ValueError(f"{src}:{line_no}: ids with TAB or newline cannot be written as TSV")
        lines.append(f"{qid}\t{did}\t{int(row['score'])}\n")
    dest.write_text("".join(lines), encoding="utf-8")


def _download_limit_small(tmp: Path, target: Path, fetch: Fetch) -> Path:
    """Fetch LIMIT-small's three files, check them, convert qrels.jsonl to qrels/test.tsv."""
    folder = tmp / "limit-small"
    folder.mkdir()
    for file, expected in LIMIT_SMALL_BLOBS.items():
        url = LIMIT_SMALL_URL.format(file=file)
        _fetch(fetch, url, folder / file, "limit-small", target)
        actual = git_blob_sha1(folder / file)
        if actual != expected:
            raise DownloadError(
                f"{url} downloaded but its git blob SHA-1 is {actual}, not {expected}: the file is "
                f"corrupt or was changed. Nothing was written to {target}; retry the download."
            )
    (folder / "qrels").mkdir()
    qrels_jsonl_to_tsv(folder / "qrels.jsonl", folder / "qrels" / "test.tsv")
    (folder / "qrels.jsonl").unlink()
    return folder


def download_dataset(name: str, data_dir: str | Path | None = None, *, fetch: Fetch | None = None) -> Path:
    """Download a known dataset into `<data dir>/<name>/` and return that folder.

    fetch(url, dest_path) does the transfer; it defaults to `fetch_url` (tests pass a
    fake one). Everything happens in a hidden temporary folder inside the data
    directory; only a fully checked dataset is moved (os.replace) to its final place.
    """
    _check_name(name)
    if name not in DOWNLOADABLE:
        raise ValueError(f"don't know where to download {name!r}; known: {', '.join(sorted(DOWNLOADABLE))}")
    fetch = fetch or fetch_url
    root = _resolve(data_dir)
    target = root / name
    if (target / "corpus.jsonl").is_file():
        return target
    if target.exists():
        raise FileExistsError(f"{target} exists but has no corpus.jsonl; remove or repair it, then retry")
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp_context = tempfile.TemporaryDirectory(prefix=f".{name}-download-", dir=root)
    except OSError as e:
        raise DownloadError(
            f"cannot write to the data directory {root} to download {name!r} ({e}). "
            f"Set {ENV_VAR} (or pass data_dir=) to a writable folder."
        ) from e
    with tmp_context as tmp:
        if name == "limit-small":
            folder = _download_limit_small(Path(tmp), target, fetch)
        else:
            folder = _download_beir_zip(name, Path(tmp), target, fetch)
        os.replace(folder, target)
    return target

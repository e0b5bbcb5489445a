"""Read the user's documents: a folder of .txt / .md / .html / .pdf files, or a BEIR-format folder.

Every file that cannot be read is skipped with the reason, never a crash halfway: an empty or
unreadable file, a binary file, text that is not UTF-8, a file larger than ``max_bytes``, an HTML
or PDF file whose parser finds no text. :class:`Documents` keeps the texts and the skipped files.

HTML is read with ``beautifulsoup4`` (its built-in ``html.parser``; scripts, styles and navigation
dropped), PDF with ``pypdf`` (text of every page); both are in the ``audit`` extra
(``pip install 'lateint[audit]'``).

A large folder is sampled before it is read: :func:`read_folder` lists the files with their sizes,
keeps ``max_docs`` of them spread over the sizes (seeded), and reads only those, so memory stays
bounded whatever the folder holds; the count of files listed is kept for the cost estimate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ..data import BeirDataset, doc_text, read_corpus, read_qrels, read_queries

__all__ = ["SUFFIXES", "Documents", "read_folder", "read_file", "sample_by_size"]

SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".pdf")
MAX_BYTES = 20 * 2**20  # a file larger than this (20 MiB) is skipped: it is rarely one document
MIN_CHARACTERS = 20  # text shorter than this is not a document


@dataclass
class Documents:
    """What was read: ``texts`` ``{doc id: text}`` (id = path relative to the folder, or the BEIR id),
    ``skipped`` ``[(name, reason)]``, ``n_listed`` documents the folder holds (before sampling), and
    for a BEIR folder with judgements, the :class:`~lateint.data.BeirDataset` ``judged``."""

    folder: Path
    texts: dict[str, str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    n_listed: int = 0
    kind: str = "files"
    judged: BeirDataset | None = None

    @property
    def doc_ids(self) -> list[str]:
        return list(self.texts)


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of one file, or ``ValueError`` saying why it cannot be a document."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file")
    if size > max_bytes:
        raise ValueError(f"{size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit (split it, or raise --max-mb)")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(data)
    else:
        if b"\x00" in data[:8192]:
            raise ValueError("binary file (NUL bytes), not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"not UTF-8 (byte {e.start}); convert it, e.g. iconv -f latin1 -t utf-8") from None
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    text = " ".join(text.split())
    if len(text) < MIN_CHARACTERS:
        raise ValueError(f"no text found ({len(text)} characters)")
    return text


def _html_text(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    for tag in soup.select('[role="navigation"], [role="search"]'):  # menus and sidebars (Sphinx, most themes)
        tag.decompose()
    return soup.get_text(" ")


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"unreadable PDF ({type(e).__name__}: {e})") from None


def sample_by_size(sizes: dict[str, int], n: int, seed: int = 0) -> list[str]:
    """``n`` of the keys of ``sizes``, spread over the sizes: sorted by size, cut into ``n`` equal runs,
    one key drawn from each (``random.Random(seed)``). All keys, in sorted order, when ``n >= len(sizes)``."""
    keys = sorted(sizes, key=lambda k: (sizes[k], k))
    if n >= len(keys):
        return sorted(keys)
    rng = random.Random(seed)
    edges = [round(i * len(keys) / n) for i in range(n + 1)]
    return sorted(keys[rng.randrange(a, b)] for a, b in zip(edges, edges[1:]))


def read_folder(folder: str | Path, max_docs: int = 1000, seed: int = 0, max_bytes: int = MAX_BYTES,
                split: str = "test", progress: bool = True) -> Documents:
    """Read ``folder`` (see the module docstring); at most ``max_docs`` documents, spread over their sizes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder. Pass the folder that holds your documents "
                                f"({', '.join(SUFFIXES)}) or a BEIR folder (corpus.jsonl).")
    if (folder / "corpus.jsonl").is_file():
        return _read_beir(folder, max_docs, seed, split)
    files, skipped = {}, []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or path.is_dir():
            continue
        if path.suffix.lower() not in SUFFIXES:
            skipped.append((rel, f"not a document type the audit reads ({', '.join(SUFFIXES)})"))
            continue
        try:
            files[rel] = path.stat().st_size
        except OSError as e:
            skipped.append((rel, f"cannot be read ({e.strerror or e})"))
    if not files:
        raise ValueError(f"{folder} holds no {', '.join(SUFFIXES)} files"
                         + (f" ({len(skipped)} other files skipped)" if skipped else "")
                         + "; put your documents there, or pass a BEIR folder with corpus.jsonl.")
    chosen = sample_by_size(files, max_docs, seed)
    texts = {}
    names = chosen
    if progress:
        from tqdm.auto import tqdm

        names = tqdm(chosen, desc="reading files", unit="file")
    for rel in names:
        try:
            texts[rel] = read_file(folder / rel, max_bytes)
        except (OSError, ValueError) as e:
            skipped.append((rel, getattr(e, "strerror", None) or str(e)))
    if not texts:
        raise ValueError(f"none of the {len(files)} files of {folder} could be read: "
                         + "; ".join(f"{n}: {r}" for n, r in skipped[:5]))
    return Documents(folder, texts, skipped, n_listed=len(files) - (len(chosen) - len(texts)))


def _read_beir(folder: Path, max_docs: int, seed: int, split: str) -> Documents:
    corpus = read_corpus(folder / "corpus.jsonl")
    texts = {d: doc_text(doc) for d, doc in corpus.items()}
    empty = [d for d, t in texts.items() if len(t.strip()) < MIN_CHARACTERS]
    for d in empty:
        del texts[d]
    skipped = [(d, "no text found") for d in empty]
    judged = None
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if qrels_file.is_file() and (folder / "queries.jsonl").is_file():
        qrels = read_qrels(qrels_file)
        queries = read_queries(folder / "queries.jsonl")
        qrels = {q: {d: g for d, g in j.items() if d in texts} for q, j in qrels.items() if q in queries}
        qrels = {q: j for q, j in qrels.items() if j}
        if qrels:
            judged = BeirDataset(name=folder.name, corpus={d: corpus[d] for d in texts},
                                 queries={q: queries[q] for q in qrels}, qrels=qrels, split=split)
    keep = sample_by_size({d: len(t) for d, t in texts.items()}, max_docs, seed)
    return Documents(folder, {d: texts[d] for d in keep}, skipped, n_listed=len(texts), kind="BEIR", judged=judged)

"""Tests for lateint.data: loading BEIR folders, data-dir resolution, downloads, subsample."""

import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import zipfile
from pathlib import Path

import pytest
from helpers import SHARED, needs_shared

from lateint import data, download
from lateint.data import (
    BeirDataset,
    DownloadError,
    available_datasets,
    default_data_dir,
    doc_text,
    download_dataset,
    load_beir,
    read_qrels,
    subsample,
)


def write_dataset(root: Path, name: str, corpus: list, queries: list, qrels: str, split: str = "test") -> Path:
    """Write a small BEIR folder: corpus/queries as lists of dicts (or raw strings), qrels as text."""
    folder = root / name
    (folder / "qrels").mkdir(parents=True)
    for file, rows in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
        lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
        (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "qrels" / f"{split}.tsv").write_bytes(qrels.encode("utf-8"))
    return folder


TINY_CORPUS = [
    {"_id": "Geneva Durben", "title": "", "text": "Geneva likes quokkas.", "metadata": {"x": 1}},
    {"_id": "d2", "title": "Second", "text": "Body two."},
    {"_id": "d3", "text": "No title field at all."},
]
TINY_QUERIES = [
    {"_id": "q 1", "text": "who likes quokkas?", "metadata": {}},
    {"_id": "q2", "text": "second doc"},
    {"_id": "unjudged", "text": "not in qrels"},
]
TINY_QRELS = "query-id\tcorpus-id\tscore\r\nq 1\tGeneva Durben\t1\r\nq2\td2\t2\r\nq2\td3\t0\r\n"


@pytest.fixture
def tiny(tmp_path):
    write_dataset(tmp_path, "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    return tmp_path


# ---------------------------------------------------------------------------
# Small folders written by the tests
# ---------------------------------------------------------------------------


def test_tiny_dataset_crlf_spaces_and_extra_fields(tiny):
    ds = load_beir("tiny", data_dir=tiny)
    assert ds.qrels == {"q 1": {"Geneva Durben": 1}, "q2": {"d2": 2, "d3": 0}}
    assert ds.queries == {"q 1": "who likes quokkas?", "q2": "second doc"}  # "unjudged" dropped
    assert ds.corpus["Geneva Durben"] == {"title": "", "text": "Geneva likes quokkas."}  # metadata dropped
    assert ds.corpus["d3"]["title"] == ""
    assert ds.doc_ids == ["Geneva Durben", "d2", "d3"]
    assert ds.doc_texts == ["Geneva likes quokkas.", "Second Body two.", "No title field at all."]
    assert ds.query_ids == ["q 1", "q2"] and ds.query_texts == ["who likes quokkas?", "second doc"]
    assert repr(ds) == "BeirDataset(name='tiny', split='test', docs=3, queries=2, qrels=3)"


def test_doc_text_joins_title_and_text():
    assert doc_text({"title": "A title", "text": "the body"}) == "A title the body"
    assert doc_text({"title": "", "text": "only body"}) == "only body"
    assert doc_text({"title": "Only title", "text": ""}) == "Only title"


@pytest.mark.parametrize(
    "qrels, message",
    [
        ("query-id\tcorpus-id\tscore\nq2\tmissing-doc\t1\n", "'missing-doc'"),
        ("query-id\tcorpus-id\tscore\nghost-query\td2\t1\n", "'ghost-query'"),
        ("query-id\tcorpus-id\tscore\nq2 d2 1\n", "3 TAB-separated columns"),
        ("query-id\tcorpus-id\tscore\nq2\td2\thigh\n", "'high' is not an integer"),
        ("query-id\tcorpus-id\tscore\nq2\td2\t1\nq2\td2\t2\n", "twice with different grades"),
        ("query-id\tcorpus-id\tscore\n", "no judgements"),
    ],
)
def test_bad_qrels_raise_clear_errors(tmp_path, qrels, message):
    write_dataset(tmp_path, "bad", TINY_CORPUS, TINY_QUERIES, qrels)
    with pytest.raises(ValueError, match=message):
        load_beir("bad", data_dir=tmp_path)


def test_identical_duplicate_judgement_is_accepted(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq\td\t1\nq\td\t1\n")
    assert read_qrels(path) == {"q": {"d": 1}}


@pytest.mark.parametrize(
    "corpus, message",
    [
        (TINY_CORPUS + ['{"_id": "broken", '], r"corpus.jsonl:4: not valid JSON"),
        (TINY_CORPUS + [{"title": "no id", "text": "x"}], r"corpus.jsonl:4: missing the field '_id'"),
        (TINY_CORPUS + [{"_id": "d2", "text": "again"}], r"corpus.jsonl:4: duplicate id 'd2'"),
        (TINY_CORPUS + ["[1, 2]"], r"expected a JSON object"),
    ],
)
def test_bad_corpus_lines_name_file_and_line(tmp_path, corpus, message):
    write_dataset(tmp_path, "bad", corpus, TINY_QUERIES, TINY_QRELS)
    with pytest.raises(ValueError, match=message):
        load_beir("bad", data_dir=tmp_path)


def test_missing_queries_file(tiny):
    (tiny / "tiny" / "queries.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="queries.jsonl"):
        load_beir("tiny", data_dir=tiny)


def test_unknown_split_lists_available_splits(tiny):
    (tiny / "tiny" / "qrels" / "dev.tsv").write_text(TINY_QRELS)
    with pytest.raises(ValueError, match="available splits: dev, test"):
        load_beir("tiny", split="validation", data_dir=tiny)


def test_unknown_dataset_lists_what_is_there(tiny):
    with pytest.raises(FileNotFoundError, match=r"Datasets found in .*: tiny\b"):
        load_beir("no-such-set", data_dir=tiny)
    assert available_datasets(tiny) == ["tiny"]


def test_known_dataset_is_not_downloaded_when_download_false(tiny):
    with pytest.raises(FileNotFoundError, match="no dataset folder"):
        load_beir("scifact", data_dir=tiny, download=False)


@pytest.mark.parametrize("name", ["", "..", "a/b", "../scifact"])
def test_dataset_name_must_be_a_plain_folder_name(tiny, name):
    with pytest.raises(ValueError, match="plain folder name"):
        load_beir(name, data_dir=tiny)


def test_dataset_object_checks_its_own_consistency():
    with pytest.raises(ValueError, match="'nope'"):
        BeirDataset("x", corpus={"d": {"title": "", "text": "t"}}, queries={"q": "?"}, qrels={"q": {"nope": 1}})


# ---------------------------------------------------------------------------
# Where the data lives
# ---------------------------------------------------------------------------


def test_data_dir_argument_beats_environment(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_DATA", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    assert load_beir("tiny", data_dir=tiny).name == "tiny"


def test_environment_variable_is_used(tiny, monkeypatch):
    monkeypatch.setenv("LATEINT_DATA", str(tiny))
    assert default_data_dir() == tiny
    assert len(load_beir("tiny").corpus) == 3


def test_shared_datasets_found_by_walking_up_from_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("LATEINT_DATA", raising=False)
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    notebooks = tmp_path / "repo" / "notebooks"
    notebooks.mkdir(parents=True)
    monkeypatch.chdir(notebooks)
    assert default_data_dir() == tmp_path / "shared" / "datasets"


def test_falls_back_to_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LATEINT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_PACKAGE_DIR", tmp_path / "site-packages" / "lateint")
    # Whatever this host has above tmp_path (a /tmp/shared/datasets, say) stays out of the test:
    # the search sees only folders inside tmp_path, where there is no shared/datasets.
    real_find = data._find_shared_datasets
    monkeypatch.setattr(
        data, "_find_shared_datasets", lambda start: _inside(real_find(start), tmp_path)
    )
    assert default_data_dir() == tmp_path / "cache" / "lateint" / "datasets"
    # ...and a shared/datasets that does appear above the current directory is found first
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    (tmp_path / "course").mkdir()
    monkeypatch.chdir(tmp_path / "course")
    assert default_data_dir() == tmp_path / "shared" / "datasets"


def _inside(found: Path | None, root: Path) -> Path | None:
    return found if found is not None and root in found.parents else None


# ---------------------------------------------------------------------------
# The real course datasets
# ---------------------------------------------------------------------------


@needs_shared
def test_scifact_test_split():
    ds = load_beir("scifact", data_dir=SHARED)
    assert (len(ds.corpus), len(ds.queries), sum(map(len, ds.qrels.values()))) == (5183, 300, 339)
    assert {g for judged in ds.qrels.values() for g in judged.values()} == {1}
    first = ds.corpus["4983"]
    assert first["title"].startswith("Microstructural development of human newborn")
    assert ds.doc_texts[0] == first["title"] + " " + first["text"]


@needs_shared
def test_scifact_train_split_and_missing_dev():
    ds = load_beir("scifact", split="train", data_dir=SHARED)
    assert (len(ds.queries), sum(map(len, ds.qrels.values()))) == (809, 919)
    with pytest.raises(ValueError, match="available splits: test, train"):
        load_beir("scifact", split="dev", data_dir=SHARED)


@needs_shared
@pytest.mark.parametrize("split, n_queries, n_qrels", [("test", 323, 12334), ("dev", 324, 11385)])
def test_nfcorpus_graded_splits(split, n_queries, n_qrels):
    ds = load_beir("nfcorpus", split=split, data_dir=SHARED)
    assert (len(ds.corpus), len(ds.queries), sum(map(len, ds.qrels.values()))) == (3633, n_queries, n_qrels)
    assert {g for judged in ds.qrels.values() for g in judged.values()} == {1, 2}


@needs_shared
def test_limit_small_ids_with_spaces():
    ds = load_beir("limit-small", data_dir=SHARED)
    assert (len(ds.corpus), len(ds.queries), sum(map(len, ds.qrels.values()))) == (46, 1000, 2000)
    assert "Geneva Durben" in ds.corpus and ds.qrels["query_0"] == {"Geneva Durben": 1, "Dorathea Bastress": 1}
    assert all(len(judged) == 2 for judged in ds.qrels.values())
    assert all(doc["title"] == "" for doc in ds.corpus.values())


# ---------------------------------------------------------------------------
# subsample
# ---------------------------------------------------------------------------


@needs_shared
def test_subsample_keeps_judged_docs_and_adds_distractors():
    ds = load_beir("scifact", data_dir=SHARED)
    small = subsample(ds, n_queries=25, n_distractors=200, seed=3)
    judged = {did for judged in small.qrels.values() for did in judged}
    assert len(small.queries) == 25 and set(small.qrels) == set(small.queries)
    assert judged <= set(small.corpus)
    assert len(small.corpus) == len(judged) + 200
    assert small.qrels == {qid: ds.qrels[qid] for qid in small.qrels}
    assert small.doc_ids == [did for did in ds.doc_ids if did in small.corpus]  # original order
    assert subsample(ds, 25, 200, seed=3) == small
    assert subsample(ds, 25, 200, seed=4).queries != small.queries


def test_subsample_all_queries_and_bad_sizes(tiny):
    ds = load_beir("tiny", data_dir=tiny)
    everything = subsample(ds, n_queries=None, n_distractors=0)
    assert everything.queries == ds.queries and everything.corpus == ds.corpus  # all 3 docs are judged
    with pytest.raises(ValueError, match="n_queries must be between 1 and 2"):
        subsample(ds, n_queries=3, n_distractors=0)
    with pytest.raises(ValueError, match=r"n_distractors must be between 0 and \d"):
        subsample(ds, n_queries=1, n_distractors=5)
    with pytest.raises(TypeError, match="n_distractors"):
        subsample(ds, n_queries=1, n_distractors=1.5)


def test_subsample_does_not_depend_on_the_hash_seed(tmp_path):
    corpus = [{"_id": f"doc{i}", "text": f"text {i}"} for i in range(50)]
    queries = [{"_id": f"q{i}", "text": f"query {i}"} for i in range(10)]
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\tdoc{i}\t1\n" for i in range(10))
    write_dataset(tmp_path, "hashy", corpus, queries, qrels)
    script = (
        "import sys; from lateint.data import load_beir, subsample; "
        "s = subsample(load_beir('hashy', data_dir=sys.argv[1]), 4, 7, seed=11); "
        "print(','.join(s.doc_ids))"
    )
    repo = str(Path(__file__).resolve().parents[1])
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": repo}
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout.strip())
    local = subsample(load_beir("hashy", data_dir=tmp_path), 4, 7, seed=11)
    assert outputs == {",".join(local.doc_ids)}


# ---------------------------------------------------------------------------
# Downloads, with a fake fetch function (no network)
# ---------------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, str]) -> str:
    """Write a zip holding `members` (name -> text); return its MD5."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return hashlib.md5(path.read_bytes()).hexdigest()


def tiny_zip_members(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}/corpus.jsonl": "\n".join(json.dumps(d) for d in TINY_CORPUS) + "\n",
        f"{prefix}/queries.jsonl": "\n".join(json.dumps(q) for q in TINY_QUERIES) + "\n",
        f"{prefix}/qrels/test.tsv": TINY_QRELS,
    }


def serve(files: dict[str, bytes], calls: list):
    """A fake fetch(url, dest) that serves `files` by the last part of the URL."""

    def fetch(url, dest):
        calls.append(url)
        Path(dest).write_bytes(files[url.rsplit("/", 1)[-1]])

    return fetch


def test_beir_download_extracts_into_place(tmp_path, monkeypatch):
    md5 = make_zip(tmp_path / "scifact.zip", tiny_zip_members("scifact"))
    monkeypatch.setitem(download.BEIR_MD5, "scifact", md5)
    calls = []
    monkeypatch.setattr(download, "fetch_url", serve({"scifact.zip": (tmp_path / "scifact.zip").read_bytes()}, calls))
    root = tmp_path / "data"
    ds = load_beir("scifact", data_dir=root)
    assert calls == ["https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip"]
    assert ds.qrels == {"q 1": {"Geneva Durben": 1}, "q2": {"d2": 2, "d3": 0}}
    assert sorted(os.listdir(root)) == ["scifact"]  # no temporary folder or zip left behind
    load_beir("scifact", data_dir=root)
    assert len(calls) == 1  # the second load reads the folder, no new download


def test_beir_checksum_mismatch_leaves_nothing(tmp_path):
    make_zip(tmp_path / "scifact.zip", tiny_zip_members("scifact"))  # not the official file
    fetch = serve({"scifact.zip": (tmp_path / "scifact.zip").read_bytes()}, [])
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="5f7d1de60b170fc8027bb7898e2efca1"):
        download_dataset("scifact", root, fetch=fetch)
    assert os.listdir(root) == []


def test_zip_with_unsafe_path_is_refused(tmp_path, monkeypatch):
    members = {**tiny_zip_members("nfcorpus"), "../escaped.txt": "gotcha"}
    md5 = make_zip(tmp_path / "nfcorpus.zip", members)
    monkeypatch.setitem(download.BEIR_MD5, "nfcorpus", md5)
    fetch = serve({"nfcorpus.zip": (tmp_path / "nfcorpus.zip").read_bytes()}, [])
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="unsafe path"):
        download_dataset("nfcorpus", root, fetch=fetch)
    assert os.listdir(root) == [] and not (tmp_path / "escaped.txt").exists()


def test_zip_without_queries_is_refused(tmp_path, monkeypatch):
    members = {name: text for name, text in tiny_zip_members("fiqa").items() if "queries" not in name}
    monkeypatch.setitem(download.BEIR_MD5, "fiqa", make_zip(tmp_path / "fiqa.zip", members))
    fetch = serve({"fiqa.zip": (tmp_path / "fiqa.zip").read_bytes()}, [])
    with pytest.raises(DownloadError, match="lacks queries.jsonl"):
        download_dataset("fiqa", tmp_path / "data", fetch=fetch)
    assert os.listdir(tmp_path / "data") == []


def test_offline_download_explains_how_to_fix(tmp_path, monkeypatch):
    def offline(url, dest):
        Path(dest).write_bytes(b"partial")
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(download, "fetch_url", offline)
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        load_beir("nfcorpus", data_dir=root)
    message = str(err.value)
    assert str(root / "nfcorpus") in message and "failed" in message and "LATEINT_DATA" in message
    assert os.listdir(root) == []


def test_fetch_url_streams_to_a_file(tmp_path, monkeypatch):
    seen = []

    def fake_urlopen(request, timeout):
        seen.append((request.full_url, timeout))
        return io.BytesIO(b"zip bytes")

    monkeypatch.setattr(download.urllib.request, "urlopen", fake_urlopen)
    download.fetch_url("https://example.org/x.zip", tmp_path / "x.zip", timeout=5)
    assert (tmp_path / "x.zip").read_bytes() == b"zip bytes"
    assert seen == [("https://example.org/x.zip", 5)]


@needs_shared
def test_limit_small_download_rebuilds_the_shared_copy(tmp_path):
    shared = SHARED / "limit-small"
    rows = [line.rstrip("\n").split("\t") for line in (shared / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    qrels_jsonl = "".join(json.dumps({"query-id": q, "corpus-id": d, "score": int(s)}) + "\n" for q, d, s in rows)
    files = {
        "corpus.jsonl": (shared / "corpus.jsonl").read_bytes(),
        "queries.jsonl": (shared / "queries.jsonl").read_bytes(),
        "qrels.jsonl": qrels_jsonl.encode(),
    }
    calls = []
    folder = download_dataset("limit-small", tmp_path, fetch=serve(files, calls))
    assert all(url.startswith("https://raw.githubusercontent.com/google-deepmind/limit/") for url in calls)
    assert (folder / "qrels" / "test.tsv").read_bytes() == (shared / "qrels" / "test.tsv").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["corpus.jsonl", "qrels", "queries.jsonl"]
    assert load_beir("limit-small", data_dir=tmp_path) == load_beir("limit-small", data_dir=SHARED)


@needs_shared
def test_limit_small_tampered_file_is_rejected(tmp_path):
    files = {
        "corpus.jsonl": (SHARED / "limit-small" / "corpus.jsonl").read_bytes() + b"\n",
        "queries.jsonl": b"",
        "qrels.jsonl": b"",
    }
    with pytest.raises(DownloadError, match="git blob SHA-1"):
        download_dataset("limit-small", tmp_path, fetch=serve(files, []))
    assert os.listdir(tmp_path) == []


def test_download_of_unknown_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="don't know where to download 'my-set'"):
        download_dataset("my-set", tmp_path, fetch=serve({}, []))

"""Download BEIR-format datasets, checked and written atomically.

BEIR's datasets come from BEIR's official server, checked against the MD5 published in
BEIR's README; LIMIT-small from the google-deepmind/limit GitHub repository at one
pinned commit, checked against git blob SHA-1s. A download lands in a hidden temporary
folder inside the data directory and is moved into place (``os.replace``) only after
every check passed, so a failure never leaves a partial dataset behind.
``lateint.data.load_beir`` calls :func:`download` when a known dataset is missing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

ENV_VAR = "LATEINT_DATA"  # names the data folder; see lateint.data


def read_jsonl(path: Path, required: tuple[str, ...]):
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


def check_name(name: str) -> None:
    """A dataset name must be a plain folder name (no path separators)."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"dataset name must be a plain folder name like 'scifact', got {name!r}")


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


def npm_tarball(package: str, version: str, sha512: str) -> Path:
    """A pinned package from the npm registry, downloaded once into ``~/.cache/lateint/npm/`` and checked.

    ``sha512`` is the registry's ``dist.integrity`` without its ``sha512-`` prefix (``npm view
    PACKAGE@VERSION dist.integrity``). The deck (reveal.js) and the course site (MathJax, the
    widgets' HTML manager) take their browser files from here, so what they show needs no network.
    """
    import base64

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lateint" / "npm"
    name = package.rsplit("/", 1)[-1]
    url = f"https://registry.npmjs.org/{package}/-/{name}-{version}.tgz"
    path = cache / f"{package.replace('/', '+')}-{version}.tgz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as tmp:
            part = Path(tmp.name)
        try:
            fetch_url(url, part)
        except (OSError, http.client.HTTPException) as e:
            part.unlink(missing_ok=True)
            raise DownloadError(f"could not download {package} {version} from {url} ({e}). Build once with "
                                f"network access to the npm registry, or put that tarball at {path} yourself.") from e
        part.replace(path)
    digest = base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    if digest != sha512:
        raise DownloadError(f"{path} does not match the registry's sha512 for {package} {version}; "
                            "delete it and build again.")
    return path


def extract_npm_files(tarball: Path, files: list[str], dest: Path) -> None:
    """Unpack only ``files`` (paths or folder prefixes inside the package) of an npm tarball into ``dest``.

    Raises ``DownloadError`` naming the entries of ``files`` that matched nothing.
    """
    import tarfile

    with tarfile.open(tarball) as tar:
        for m in tar.getmembers():
            inner = m.name.removeprefix("package/")
            if not m.isfile() or not any(inner.startswith(f) for f in files) or ".." in Path(inner).parts:
                continue
            target = dest / inner
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    missing = [f for f in files if not (dest / f).exists()]
    if missing:
        raise DownloadError(f"{tarball.name} lacks {missing}; update the list of files to copy.")


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
    for line_no, row in read_jsonl(src, required=("query-id", "corpus-id", "score")):
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


def download(name: str, root: Path, *, fetch: Fetch | None = None) -> Path:
    """Download a known dataset into `<root>/<name>/` and return that folder.

    fetch(url, dest_path) does the transfer; it defaults to `fetch_url` (tests pass a
    fake one). Everything happens in a hidden temporary folder inside the data
    directory; only a fully checked dataset is moved (os.replace) to its final place.
    """
    check_name(name)
    if name not in DOWNLOADABLE:
        raise ValueError(f"don't know where to download {name!r}; known: {', '.join(sorted(DOWNLOADABLE))}")
    fetch = fetch or fetch_url
    root = Path(root)
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
            f"cannot write to the data directory {root} to download {name!r} ({e})."
        ) from e
    with tmp_context as tmp:
        if name == "limit-small":
            folder = _download_limit_small(Path(tmp), target, fetch)
        else:
            folder = _download_beir_zip(name, Path(tmp), target, fetch)
        os.replace(folder, target)
    return target

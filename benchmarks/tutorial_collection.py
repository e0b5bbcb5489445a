"""Build the capstone lesson's document collection (notebooks/data/python_tutorial/) from the Python tutorial.

Source: the HTML of the Python 3.11 tutorial as Debian ships it (``apt-get install python3-doc``:
/usr/share/doc/python3.11/html/tutorial/). Each section (an ``<h2>`` with what follows it) becomes one
.txt document, "page title: section title" on its first line; ``--n`` of them are kept, spread over
their lengths (every ``len/n``-th in length order), so the collection has short and long documents.
Copyright the Python Software Foundation, under the PSF License Agreement (written beside the
documents as LICENSE, as that agreement asks).

    python benchmarks/tutorial_collection.py [--n 36] [--out notebooks/data/python_tutorial]
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from bs4 import BeautifulSoup

HTML = Path("/usr/share/doc/python3.11/html")


def sections(page: Path) -> list[tuple[str, str]]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    title = soup.find("h1").get_text(" ", strip=True).rstrip("¶")
    out = []
    for sec in soup.select("section > section"):
        if sec.find_parent("section").find_parent("section"):
            continue  # an h3 inside an h2 section: part of its parent
        head = sec.find(["h2"])
        if head is None:
            continue
        for tag in sec.select("a.headerlink"):
            tag.decompose()
        name = head.get_text(" ", strip=True)
        text = " ".join(sec.get_text(" ").split())
        out.append((f"{title}: {name}", text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=36)
    ap.add_argument("--out", default="notebooks/data/python_tutorial")
    a = ap.parse_args()
    found = []
    for page in sorted((HTML / "tutorial").glob("*.html")):
        if page.stem in ("index",):
            continue
        for i, (name, text) in enumerate(sections(page)):
            found.append((f"{page.stem}-{i + 1:02d}.txt", name, text))
    found.sort(key=lambda r: (len(r[2]), r[0]))
    step = len(found) / a.n
    kept = [found[int(i * step)] for i in range(a.n)]
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for file, name, text in kept:
        (out / file).write_text(text + "\n", encoding="utf-8")
    lic = BeautifulSoup((HTML / "license.html").read_text(encoding="utf-8"), "html.parser")
    psf = lic.find(id="psf-license-agreement-for-python-release") or lic.find(id="psf-license-agreement-for-python-3-11-2")
    body = psf.get_text("\n") if psf else lic.get_text("\n")
    (out / "LICENSE").write_text(
        "These documents are sections of the Python 3.11 tutorial (https://docs.python.org/3.11/tutorial/),\n"
        "taken from Debian's python3-doc package by benchmarks/tutorial_collection.py, text only.\n"
        "Copyright (c) 2001-2023 Python Software Foundation; All Rights Reserved.\n"
        "Used under the PSF License Agreement, reproduced here:\n\n" + "\n".join(l.rstrip() for l in body.splitlines() if l.strip()) + "\n",
        encoding="utf-8")
    print(f"{len(kept)} of {len(found)} sections written to {out} (+ LICENSE)")


if __name__ == "__main__":
    main()

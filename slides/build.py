"""Build the talk's reveal.js deck: ``slides/deck.md`` -> ``slides/build/index.html``.

    python slides/build.py                 # what `make slides` runs
    python slides/build.py --out /tmp/deck # somewhere else

What it does, in order:

1. reads ``deck.md`` (Markdown; ``---`` on a line of its own starts a slide, ``Note:``
   starts the speaker notes; see ``slides/README.md``);
2. draws every figure the deck names (``figures/NAME.png``) with ``slides/deck_figures.py``,
   i.e. with ``lateint``'s own plotting functions on the lessons' data: never a pasted
   screenshot. A figure the deck names but ``deck_figures.py`` cannot draw stops the build;
3. takes reveal.js from the npm registry (version pinned, tarball checked against the
   registry's sha512), cached in ``~/.cache/lateint/npm/``, and copies only the files the
   deck uses, so the built deck needs no network when it is shown;
4. writes ``index.html`` from ``template.html`` with the Markdown inside it (so it also
   opens from ``file://``), atomically: a failed build leaves the previous one in place.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # deck_figures beside this file; lateint from a checkout too

REVEAL_VERSION = "5.2.1"
REVEAL_URL = f"https://registry.npmjs.org/reveal.js/-/reveal.js-{REVEAL_VERSION}.tgz"
REVEAL_SHA512 = "r7//6mIM5p34hFiDMvYfXgyjXqGRta+/psd9YtytsgRlrpRzFv4RbH76TXd2qD+7ZPZEbpBDhdRhJaFgfQ7zNQ=="
# the only parts of the package the deck loads (paths inside the tarball's package/ folder)
REVEAL_FILES = [
    "LICENSE",
    "dist/reset.css",
    "dist/reveal.css",
    "dist/reveal.js",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro/",
    "plugin/markdown/markdown.js",
    "plugin/notes/notes.js",
]
FIGURE_RE = re.compile(r"\]\(figures/([\w-]+)\.png\)")


def figure_names(markdown: str) -> list[str]:
    """The figures a deck names, ``![...](figures/NAME.png)``, in order, each once."""
    return list(dict.fromkeys(FIGURE_RE.findall(markdown)))


def npm_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lateint" / "npm"


def reveal_tarball() -> Path:
    """The pinned reveal.js tarball from the npm registry, downloaded once and checked."""
    from lateint.download import fetch_url

    path = npm_cache() / f"reveal.js-{REVEAL_VERSION}.tgz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
            part = Path(tmp.name)
        try:
            fetch_url(REVEAL_URL, part)
        except OSError as e:
            part.unlink(missing_ok=True)
            raise SystemExit(
                f"could not download reveal.js {REVEAL_VERSION} from {REVEAL_URL} ({e}). Build once with "
                f"network access, or put that tarball at {path} yourself."
            ) from e
        part.replace(path)
    digest = base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    if digest != REVEAL_SHA512:
        raise SystemExit(f"{path} does not match the registry's sha512 for reveal.js {REVEAL_VERSION}; delete it and build again.")
    return path


def copy_reveal(dest: Path) -> None:
    """Unpack only :data:`REVEAL_FILES` of the pinned reveal.js into ``dest/reveal/``."""
    with tarfile.open(reveal_tarball()) as tar:
        members = [m for m in tar.getmembers() if m.isfile()
                   and any(m.name.removeprefix("package/").startswith(f) for f in REVEAL_FILES)]
        for m in members:
            target = dest / "reveal" / m.name.removeprefix("package/")
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    missing = [f for f in REVEAL_FILES if not (dest / "reveal" / f).exists()]
    if missing:
        raise SystemExit(f"reveal.js {REVEAL_VERSION} lacks {missing}; update REVEAL_FILES in {__file__}.")


def render(markdown: str, template: str) -> str:
    """The deck's HTML: ``template`` with the Markdown in place of ``{{ deck }}``."""
    if "{{ deck }}" not in template:
        raise ValueError("template.html must contain {{ deck }} where the slides go")
    # inside <textarea> the Markdown is text: only '<', '&' must not close or start markup
    return template.replace("{{ deck }}", html.escape(markdown, quote=False))


def build(out: Path, deck: Path = HERE / "deck.md") -> Path:
    """Build the deck into ``out`` (replaced only once the new build is complete); returns index.html."""
    from deck_figures import FIGURES, draw

    markdown = deck.read_text(encoding="utf-8")
    names = figure_names(markdown)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise SystemExit(f"deck.md names figures that slides/deck_figures.py does not draw: {unknown}. "
                         f"Known: {sorted(FIGURES)}")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        copy_reveal(staging)
        draw(names, staging / "figures")
        page = render(markdown, (HERE / "template.html").read_text(encoding="utf-8"))
        (staging / "index.html").write_text(page, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "build", help="folder to write (default slides/build)")
    args = parser.parse_args()
    index = build(args.out)
    print(f"built {index} ({len(figure_names((HERE / 'deck.md').read_text()))} figures); open it in a browser, "
          "press S for the speaker notes")


if __name__ == "__main__":
    main()

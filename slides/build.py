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
import html
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # deck_figures beside this file; lateint from a checkout too

REVEAL_VERSION = "5.2.1"
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
    "plugin/highlight/highlight.js",
    "plugin/highlight/monokai.css",
]
FIGURE_RE = re.compile(r"\]\(figures/([\w-]+)\.png\)")


def figure_names(markdown: str) -> list[str]:
    """The figures a deck names, ``![...](figures/NAME.png)``, in order, each once."""
    return list(dict.fromkeys(FIGURE_RE.findall(markdown)))


def reveal_tarball() -> Path:
    """The pinned reveal.js tarball from the npm registry, downloaded once and checked."""
    from lateint.download import DownloadError, npm_tarball

    try:
        return npm_tarball("reveal.js", REVEAL_VERSION, REVEAL_SHA512)
    except DownloadError as e:
        raise SystemExit(str(e)) from e


def copy_reveal(dest: Path) -> None:
    """Unpack only :data:`REVEAL_FILES` of the pinned reveal.js into ``dest/reveal/``."""
    from lateint.download import DownloadError, extract_npm_files

    try:
        extract_npm_files(reveal_tarball(), REVEAL_FILES, dest / "reveal")
    except DownloadError as e:
        raise SystemExit(f"reveal.js {REVEAL_VERSION}: {e} (REVEAL_FILES in {__file__})") from e


def render(markdown: str, template: str) -> str:
    """The deck's HTML: ``template`` with the Markdown in place of ``{{ deck }}``."""
    if "{{ deck }}" not in template:
        raise ValueError("template.html must contain {{ deck }} where the slides go")
    # inside <textarea> the Markdown is text: only '<', '&' must not close or start markup
    return template.replace("{{ deck }}", html.escape(markdown, quote=False))


def build(out: Path, deck: Path = HERE / "deck.md") -> Path:
    """Build the deck into ``out`` (replaced only once the new build is complete); returns index.html."""
    from deck_figures import FIGURES, draw

    from lateint.files import write_folder_atomically

    markdown = deck.read_text(encoding="utf-8")
    names = figure_names(markdown)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise SystemExit(f"deck.md names figures that slides/deck_figures.py does not draw: {unknown}. "
                         f"Known: {sorted(FIGURES)}")
    out = out.resolve()

    def fill(staging: Path) -> None:  # built beside out, then swapped in: never half a deck; modes from the umask
        copy_reveal(staging)
        draw(names, staging / "figures")
        page = render(markdown, (HERE / "template.html").read_text(encoding="utf-8"))
        (staging / "index.html").write_text(page, encoding="utf-8")

    write_folder_atomically(out, fill)
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

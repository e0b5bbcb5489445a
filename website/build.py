"""Build the course site: the committed notebooks, with their saved outputs, as static HTML pages.

    python website/build.py                  # what `make site` runs: website/build/index.html
    python website/build.py --solutions      # with the exercises' worked solutions (for instructors)
    python website/build.py --out /tmp/site --no-deck

Nothing is executed: every page shows the outputs committed in the notebook (the ones nbval checks).
The pages are nbconvert's HTML (JupyterLab's look) through the template in ``website/templates/``,
and everything a page loads comes from the site's own ``assets/`` folder, so the site works offline
and from ``file://``:

- math: MathJax 3, from the npm registry (version pinned, tarball checked against the registry's
  sha512, cached in ``~/.cache/lateint/npm/`` as the deck's reveal.js is);
- saved widget state: ipywidgets' own HTML manager (``@jupyter-widgets/html-manager``, npm, pinned
  the same way) draws it as it was saved; a widget whose state was not saved, or that holds a widget
  of another front end (the query stepper's text box is an anywidget, whose front end the site does
  not bundle), shows its own static view (the stepper's: a copy of the step it showed) or a note
  saying what it is and how to run it;
- the deck (``slides/``), built into ``deck/`` unless ``--no-deck``.

Pages: ``index.html`` (the lessons in the README's order, each with what it shows and its measured
run time from ``benchmarks/README.md``), ``lessons/``, ``exercises/`` (without solutions),
``solutions/`` (only with ``--solutions``), ``benchmarks/`` (``benchmarks/README.md``), ``deck/``.
Each lesson page links to Colab and Binder. The output folder is replaced only once the new build is
complete.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import posixpath
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]  # lateint from a checkout too

REPO = "lateint/lateint"  # on GitHub: where Colab and Binder open the notebooks from
GITHUB = f"https://github.com/{REPO}/blob/main/"
MATHJAX = ("mathjax", "3.2.2", "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
           ["LICENSE", "es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2/"])
WIDGETS = ("@jupyter-widgets/html-manager", "1.0.15",
           "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
           ["package.json", "dist/embed.js", "dist/embed.js.LICENSE.txt"])  # package.json: its licence
WIDGET_FONTS = (".woff2", ".woff", ".ttf", ".eot", ".svg")  # the widgets' icon fonts, beside embed.js
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
BUNDLED_MODULES = ("@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output")  # in embed.js
MODEL_REFERENCE = re.compile(r"IPY_MODEL_(\w+)")
BADGE_LINE = re.compile(r"^.*(colab\.research\.google\.com|mybinder\.org).*\n(?:[ \t]*\n)?", re.MULTILINE)


@dataclass
class Page:
    """One page of the site: a notebook (or Markdown turned into one) and where it goes."""

    source: Path  # the repository file it is made from
    href: str  # path inside the site, e.g. "lessons/02_maxsim_by_hand.html"
    title: str
    summary: str = ""  # what the lesson shows (README's table)
    runtime: str = ""  # measured cold run time (benchmarks/README.md)
    kind: str = "lesson"  # lesson, exercise, solution, benchmarks, home


def colab_url(notebook: str) -> str:
    return f"https://colab.research.google.com/github/{REPO}/blob/main/{notebook}"


def binder_url(notebook: str) -> str:
    return f"https://mybinder.org/v2/gh/{REPO}/HEAD?labpath={notebook}"


def lesson_table(readme: str) -> list[tuple[str, str]]:
    """``(stem, what it shows)`` for each row of the README's "The lessons" table, in order."""
    section = readme.split("## The lessons", 1)
    if len(section) < 2:
        raise SystemExit("README.md has no '## The lessons' section: the site takes the lessons' order from it")
    rows = re.findall(r"^\| `(\d\d_\w+)` \| (.+?) \|$", section[1].split("\n## ", 1)[0], flags=re.MULTILINE)
    if not rows:
        raise SystemExit("README.md's '## The lessons' table lists no lesson (rows like | `00_setup` | ... |)")
    return rows


def run_times(benchmarks: str) -> dict[str, int]:
    """Cold wall seconds per notebook path from the benchmarks README's budget table."""
    return {path: int(secs.replace(",", "")) for path, secs in
            re.findall(r"^\| (notebooks/\S+\.ipynb) \| ok[^|]* \| ([\d,]+) \|", benchmarks, flags=re.MULTILINE)}


def title_of(nb) -> str:
    """The notebook's first heading, without its '#'."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if m:
                return m.group(1).strip()
    raise SystemExit("a notebook without a '# title' heading: every lesson starts with one")


def site_path(repo_path: str, pages: dict[str, Page]) -> str | None:
    """Where a repository file is on the site (its page), or None."""
    page = pages.get(repo_path)
    return page.href if page else None


def rewrite_links(body: str, page: Page, pages: dict[str, Page]) -> str:
    """Relative links in a page: a notebook or README that has a page goes to it, others to GitHub."""
    base = posixpath.dirname(page.source.relative_to(ROOT).as_posix())
    depth = page.href.count("/")
    hrefs = {p.href for p in pages.values()}

    def fix(m: re.Match) -> str:
        attr, url = m.group(1), html.unescape(m.group(2))
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|//)", url, flags=re.IGNORECASE) or not url:
            return m.group(0)
        path, _, anchor = url.partition("#")
        on_site = posixpath.normpath(posixpath.join(posixpath.dirname(page.href), path))
        if on_site in hrefs or on_site.startswith("assets/"):  # the site's own pages and files: as they are
            return m.group(0)
        target = posixpath.normpath(posixpath.join(base, path))
        found = site_path(target, pages)
        new = ("../" * depth + found) if found else GITHUB + target
        if anchor:
            new += "#" + anchor
        return f'{attr}="{html.escape(new)}"'

    return re.sub(r'(href)="([^"]*)"', fix, body)


def static_widget_note(output) -> None:
    """A widget output whose state was not saved: a note in place of ``VBox(children=...)``."""
    output.data = {"text/html": '<div class="site-static-widget"><b>Interactive widget</b> (an ipywidgets '
                                "control panel): it needs a running Python kernel. Run this notebook in "
                                "JupyterLab, Colab or Binder to use it.</div>",
                   "text/plain": "Interactive widget: run the notebook to use it."}


def references(model: dict) -> set[str]:
    """The ids of the saved models that ``model``'s state points to (children, layout, style)."""
    return set(MODEL_REFERENCE.findall(json.dumps(model.get("state", {}))))


def drawable(state: dict) -> set[str]:
    """The saved models the site's HTML manager can draw offline: those of the modules it bundles, holding
    only such models. A widget of another front end (the query stepper's text box is an anywidget) would
    make it fetch that front end from a CDN."""
    bad = {mid for mid, m in state.items()
           if m.get("model_module") not in BUNDLED_MODULES or m.get("state", {}).get("_view_module", BUNDLED_MODULES[0]) not in BUNDLED_MODULES}
    while True:
        holding = {mid for mid, m in state.items() if mid not in bad and references(m) & bad}
        if not holding:
            return set(state) - bad
        bad |= holding


def prepare(nb, page: Page):
    """The notebook as the site shows it: badges out (the page has its own links); a widget that was not
    saved, or that the site cannot draw, shows its own static view (the stepper has one) or a note; the
    saved state keeps only what the shown widgets need."""
    nb = copy.deepcopy(nb)
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    ok = drawable(saved)
    shown = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = BADGE_LINE.sub("", cell.source)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if not view:
                continue
            if view.get("model_id") in ok:
                shown.append(view["model_id"])
            elif "text/html" in output.data:
                del output.data[WIDGET_VIEW]  # the widget's own static view stays
            else:
                static_widget_note(output)
    needed = set()
    while shown:  # the shown widgets and every model they hold
        mid = shown.pop()
        if mid not in needed:
            needed.add(mid)
            shown.extend(references(saved[mid]) & set(saved))
    if needed:
        nb.metadata["widgets"][WIDGET_STATE]["state"] = {mid: saved[mid] for mid in saved if mid in needed}
    else:
        nb.metadata.pop("widgets", None)  # nothing to draw: the page loads no widget manager
    nb.metadata["title"] = page.title
    return nb


def nav_html(page: Page, lessons: list[Page], extra: list[Page], depth: int) -> str:
    up = "../" * depth
    items = [f'<a class="site-home" href="{up}index.html">lateint</a>']
    for p in [*lessons, *extra]:
        label = p.title.split(" · ")[0] if p.kind == "lesson" else p.title
        current = ' aria-current="page"' if p is page else ""
        items.append(f'<a href="{up}{p.href}"{current} title="{html.escape(p.title)}">{html.escape(label)}</a>')
    return " ".join(items)


def header_html(page: Page, exercise: Page | None, solution: Page | None, depth: int) -> str:
    if page.kind not in ("lesson", "exercise", "solution"):
        return ""
    notebook = page.source.relative_to(ROOT).as_posix()
    up = "../" * depth
    lines = []
    if page.summary:
        lines.append(f"<p><b>In this lesson:</b> {page.summary}</p>")
    if page.runtime:
        lines.append(f"<p><b>Run time:</b> {page.runtime}</p>")
    links = [f'<a href="{colab_url(notebook)}">Open in Colab</a>',
             f'<a href="{binder_url(notebook)}">Open in Binder</a>',
             f'<a href="{GITHUB}{notebook}">Notebook on GitHub</a>']
    if exercise:
        links.append(f'<a href="{up}{exercise.href}">Exercises</a>')
    if solution:
        links.append(f'<a href="{up}{solution.href}">Worked solutions</a>')
    lines.append('<p class="site-links">' + " ".join(links) + "</p>")
    note = ("<p>This page shows the notebook with the outputs it was saved with; run it to change them. "
            "Locally: <code>make course</code> (README).</p>")
    return f'<div class="site-header">{"".join(lines)}{note}</div>'


def footer_html(prev: Page | None, nxt: Page | None, depth: int) -> str:
    up = "../" * depth
    left = f'<a href="{up}{prev.href}">← {html.escape(prev.title)}</a>' if prev else "<span></span>"
    right = f'<a href="{up}{nxt.href}">{html.escape(nxt.title)} →</a>' if nxt else "<span></span>"
    return f'<div class="site-footer">{left}{right}</div>'


def markdown_notebook(text: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return nb


def home_markdown(lessons: list[Page], exercises: dict[str, Page], has_deck: bool, solutions: bool) -> str:
    """The home page in Markdown; links name repository files, as in the README (rewrite_links maps them)."""

    def rel(page: Page) -> str:
        return page.source.relative_to(ROOT).as_posix()

    rows = []
    for p in lessons:
        ex = exercises.get(p.source.stem.split("_")[0])
        rows.append(f"| [{p.title}]({rel(p)}) | {p.summary} | {p.runtime or 'not measured yet'} | "
                    + (f"[exercises]({rel(ex)})" if ex else "") + " |")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    parts = [
        "# lateint: stop cramming documents (or chunks) into one vector", intro,
        "## The lessons",
        ("Each lesson is a notebook that runs top to bottom offline on a laptop CPU. These pages show it with the "
         "outputs it was saved with; open it in Colab or Binder (links on each page), or run "
         "`make course` in a clone of the repository."),
        "\n".join(["| lesson | what it shows | run time (cold, 2-core CPU) | homework |", "| --- | --- | --- | --- |", *rows]),
        "## More",
        "- [Benchmarks](benchmarks/README.md): the measured figures the lessons cite, and the commands that made them."]
    if has_deck:
        parts.append("- [The talk's slides](slides/deck.md) (reveal.js; press S for the speaker notes).")
    parts.append("- Exercises: each lesson's homework, with automatic checks; "
                 + ("the worked solutions are included in this build (for instructors)." if solutions else
                    "worked solutions are left out of this site (instructors: `make site SOLUTIONS=1`)."))
    return "\n\n".join(parts) + "\n"


def collect(solutions: bool) -> tuple[list[Page], list[Page], list[Page], Page]:
    """The site's pages: lessons (README order), exercises, solutions (if asked), benchmarks."""
    import nbformat

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    times = run_times((ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"))
    lessons = []
    for stem, summary in lesson_table(readme):
        source = ROOT / "notebooks" / f"{stem}.ipynb"
        if not source.exists():
            raise SystemExit(f"README.md lists lesson {stem}, but {source} does not exist")
        secs = times.get(f"notebooks/{stem}.ipynb")
        runtime = f"about {secs} s cold on a 2-core CPU (measured: benchmarks)" if secs else ""
        lessons.append(Page(source, f"lessons/{stem}.html", title_of(nbformat.read(source, as_version=4)),
                            summary, runtime))

    def folder(name: str, kind: str) -> list[Page]:
        pages = []
        for source in sorted((ROOT / "notebooks" / name).glob("*.ipynb")):
            secs = times.get(source.relative_to(ROOT).as_posix())
            pages.append(Page(source, f"{name}/{source.stem}.html", title_of(nbformat.read(source, as_version=4)),
                              runtime=f"about {secs} s cold on a 2-core CPU" if secs else "", kind=kind))
        return pages

    benchmarks = Page(ROOT / "benchmarks" / "README.md", "benchmarks/index.html", "Benchmarks", kind="benchmarks")
    return lessons, folder("exercises", "exercise"), folder("solutions", "solution") if solutions else [], benchmarks


def copy_assets(dest: Path) -> None:
    """MathJax and the widgets' HTML manager from npm (pinned, checked), and the site's own CSS and icon."""
    from lateint.download import extract_npm_files, npm_tarball

    package, version, sha, files = MATHJAX
    extract_npm_files(npm_tarball(package, version, sha), files, dest / "mathjax")
    package, version, sha, files = WIDGETS
    tarball = npm_tarball(package, version, sha)
    import tarfile

    with tarfile.open(tarball) as tar:  # the icon fonts' names are content hashes: take them by type
        fonts = [m.name.removeprefix("package/") for m in tar.getmembers()
                 if m.name.startswith("package/dist/") and m.name.endswith(WIDGET_FONTS) and "/" not in m.name[13:]]
    extract_npm_files(tarball, files + fonts, dest / "widgets")
    for name in ("site.css", "favicon.svg"):
        shutil.copy(HERE / "assets" / name, dest / name)


def build(out: Path, solutions: bool = False, deck: bool = True) -> Path:
    """Build the site into ``out`` (replaced only once the new build is complete); returns index.html."""
    import nbformat
    from nbconvert import HTMLExporter

    from lateint.files import write_folder_atomically

    lessons, exercises, solved, benchmarks = collect(solutions)
    home = Page(ROOT / "README.md", "index.html", "lateint: the course", kind="home")
    by_prefix = {p.source.stem.split("_")[0]: p for p in exercises}
    solved_by_prefix = {p.source.stem.split("_")[0]: p for p in solved}
    pages = {p.source.relative_to(ROOT).as_posix(): p for p in [home, *lessons, *exercises, *solved, benchmarks]}
    extra = [benchmarks]
    if deck:
        pages["slides/deck.md"] = Page(ROOT / "slides" / "deck.md", "deck/index.html", "Slides", kind="deck")
    exporter = HTMLExporter(template_name="lateint", extra_template_basedirs=[str(HERE / "templates")])

    out = out.resolve()

    def fill(staging: Path) -> None:  # built beside out, then swapped in (lateint.files): never half a site
        copy_assets(staging / "assets")
        if deck:
            from slides.build import build as build_deck

            build_deck(staging / "deck")
        sequences = [lessons, exercises, solved]
        for page in [home, benchmarks, *lessons, *exercises, *solved]:
            if page is home:
                nb = markdown_notebook(home_markdown(lessons, by_prefix, deck, solutions))
            elif page is benchmarks:
                nb = markdown_notebook(page.source.read_text(encoding="utf-8"))
                for image in page.source.parent.glob("*.png"):
                    (staging / "benchmarks").mkdir(exist_ok=True)
                    shutil.copy(image, staging / "benchmarks" / image.name)
            else:
                nb = nbformat.read(page.source, as_version=4)
            depth = page.href.count("/")
            seq = next((s for s in sequences if page in s), [])
            i = seq.index(page) if seq else 0
            prefix = page.source.stem.split("_")[0]
            site = {
                "root": "../" * depth,
                "nav": nav_html(page, lessons, extra, depth),
                "header": header_html(page, by_prefix.get(prefix) if page.kind == "lesson" else None,
                                      solved_by_prefix.get(prefix) if page.kind == "exercise" else None, depth),
                "footer": footer_html(seq[i - 1] if seq and i > 0 else None,
                                      seq[i + 1] if seq and i + 1 < len(seq) else None, depth),
            }
            body, _ = exporter.from_notebook_node(prepare(nb, page), resources={"site": site})
            target = staging / page.href
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite_links(body, page, pages), encoding="utf-8")

    write_folder_atomically(out, fill)
    return out / "index.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "build", help="folder to write (default website/build)")
    parser.add_argument("--solutions", action="store_true", help="include the exercises' worked solutions")
    parser.add_argument("--no-deck", action="store_true", help="leave the deck out (it takes ~1 min to draw)")
    args = parser.parse_args()
    start = time.perf_counter()
    index = build(args.out, solutions=args.solutions, deck=not args.no_deck)
    print(f"built {index} in {time.perf_counter() - start:.0f} s"
          + (" (with the worked solutions: for instructors, do not publish to students)" if args.solutions else "")
          + "; open it in a browser, no server needed")


if __name__ == "__main__":
    main()

"""The course site (`make site`, website/build.py): built from the committed notebooks, then every page
opened in Debian's Chromium over a local web server: no console error, no request off the machine,
every formula typeset by the site's own MathJax, every image loaded, the saved query stepper drawn.
"""
from __future__ import annotations

import functools
import html
import http.server
import importlib.util
import re
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from browser import PageProblems

ROOT = Path(__file__).resolve().parent.parent


def load_site_build():
    """website/build.py as a module (its name, build, is also the deck's: load it under its own)."""
    spec = importlib.util.spec_from_file_location("website_build", ROOT / "website" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


site_build = load_site_build()


# ------------------------------------------------------------------ the pieces, without a browser


def notebook_with_widget(model_id: str, saved: bool):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 09 · Title\n\n[Open in Colab](https://colab.research.google.com/x) "
                                              "· [Binder](https://mybinder.org/y)\n\nProse stays."),
                nbformat.v4.new_code_cell("stepper", outputs=[nbformat.v4.new_output(
                    "display_data", data={site_build.WIDGET_VIEW: {"model_id": model_id, "version_major": 2},
                                          "text/plain": "VBox(children=(HTML(value='<style>..."})])]
    if saved:
        nb.metadata["widgets"] = {site_build.WIDGET_STATE: {"state": {model_id: model("VBoxModel")}}}
    return nb


def model(name: str, module: str = "@jupyter-widgets/controls", **state) -> dict:
    """A saved widget model as JupyterLab and nbclient write it."""
    return {"model_name": name, "model_module": module, "model_module_version": "2.0.0", "state": state}


def test_an_unsaved_widget_gets_a_note_and_a_saved_one_is_kept():
    page = site_build.Page(ROOT / "notebooks" / "x.ipynb", "lessons/x.html", "09 · Title")
    unsaved = site_build.prepare(notebook_with_widget("abc", saved=False), page)
    data = unsaved.cells[1].outputs[0].data
    assert site_build.WIDGET_VIEW not in data and "needs a running Python kernel" in data["text/html"]
    saved = site_build.prepare(notebook_with_widget("abc", saved=True), page)
    assert site_build.WIDGET_VIEW in saved.cells[1].outputs[0].data
    # the badge line goes (the page has its own links); the prose stays
    assert saved.cells[0].source == "# 09 · Title\n\nProse stays."


def test_a_widget_holding_another_front_end_shows_its_static_view():
    """The stepper holds an anywidget (its text box): the site's HTML manager would fetch anywidget's front
    end from a CDN, so the stepper's own static view shows, and the page keeps only the models it draws."""
    page = site_build.Page(ROOT / "notebooks" / "x.ipynb", "lessons/x.html", "09 · Title")
    nb = notebook_with_widget("box", saved=True)
    nb.cells[1].outputs[0].data["text/html"] = "<p>Query stepper: a static copy</p>"
    nb.cells[1].outputs.append(nbformat.v4.new_output("display_data", data={
        site_build.WIDGET_VIEW: {"model_id": "dd", "version_major": 2}, "text/plain": "Dropdown()"}))
    nb.metadata["widgets"][site_build.WIDGET_STATE]["state"] = {
        "box": model("VBoxModel", children=["IPY_MODEL_aa", "IPY_MODEL_bb"]),  # a stepper
        "aa": model("AnyModel", "anywidget", layout="IPY_MODEL_ll"), "ll": model("LayoutModel", "@jupyter-widgets/base"),
        "bb": model("HTMLModel"),
        "dd": model("DropdownModel", layout="IPY_MODEL_l2"), "l2": model("LayoutModel", "@jupyter-widgets/base"),
        "unshown": model("HTMLModel"),  # a widget never displayed (lesson 02's second stepper)
    }
    shown = site_build.prepare(nb, page)
    stepper, dropdown = (o.data for o in shown.cells[1].outputs)
    assert site_build.WIDGET_VIEW not in stepper and stepper["text/html"] == "<p>Query stepper: a static copy</p>"
    assert site_build.WIDGET_VIEW in dropdown  # drawn from its saved state, as before
    assert set(shown.metadata["widgets"][site_build.WIDGET_STATE]["state"]) == {"dd", "l2"}
    # nothing left to draw: no widget state, so the page loads no widget manager
    nb.cells[1].outputs.pop()
    assert "widgets" not in site_build.prepare(nb, page).metadata
    assert site_build.drawable({"v": model("VBoxModel", children=["IPY_MODEL_a"]), "a": model("AnyModel", "anywidget")}) == set()


def test_relative_links_go_to_pages_or_to_github():
    lesson = site_build.Page(ROOT / "notebooks" / "02_x.ipynb", "lessons/02_x.html", "02")
    bench = site_build.Page(ROOT / "benchmarks" / "README.md", "benchmarks/index.html", "Benchmarks")
    pages = {"notebooks/02_x.ipynb": lesson, "benchmarks/README.md": bench}
    body = ('<a href="../benchmarks/README.md#the-table">t</a> <a href="02_x.ipynb">self</a> '
            '<a href="../lateint/similarity.py">code</a> <a href="https://example.org/a">web</a> <a href="#s1">s</a>')
    out = site_build.rewrite_links(body, lesson, pages)
    assert re.findall(r'href="([^"]*)"', out) == [
        "../benchmarks/index.html#the-table", "../lessons/02_x.html",
        site_build.GITHUB + "lateint/similarity.py", "https://example.org/a", "#s1"]


def test_lessons_follow_the_readme_and_carry_measured_run_times():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stems = [stem for stem, _ in site_build.lesson_table(readme)]
    assert stems == sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    times = site_build.run_times((ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"))
    assert times["notebooks/01_one_vector_dilutes.ipynb"] > 0
    with pytest.raises(SystemExit, match="The lessons"):
        site_build.lesson_table("# no table here")


# ----------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as `make site` builds it (the deck left out: tests/test_browser.py checks the deck)."""
    return site_build.build(tmp_path_factory.mktemp("site") / "build", deck=False).parent


@pytest.fixture(scope="module")
def server(site):
    """The site over http on 127.0.0.1, as a course server would serve it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.mark.slow
def test_the_site_has_every_lesson_and_exercise_and_no_solution(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stems = [stem for stem, _ in site_build.lesson_table(readme)]
    linked = re.findall(r'href="lessons/(\w+)\.html"', index)
    assert list(dict.fromkeys(linked)) == stems, "the home page lists the lessons in the README's order"
    assert "run time" in index and re.search(r"<td>about \d+ s cold", index), "a table row per lesson, with its run time"
    for stem in stems:
        page = (site / "lessons" / f"{stem}.html").read_text(encoding="utf-8")
        assert html.escape(site_build.colab_url(f"notebooks/{stem}.ipynb")) in page
        assert html.escape(site_build.binder_url(f"notebooks/{stem}.ipynb")) in page
    exercises = sorted(p.name for p in (site / "exercises").glob("*.html"))
    assert exercises == sorted(p.stem + ".html" for p in (ROOT / "notebooks" / "exercises").glob("*.ipynb"))
    assert not (site / "solutions").exists() and "solutions/" not in index
    assert (site / "benchmarks" / "index.html").exists()


def typeset_report(page) -> dict:
    """After MathJax has finished: formulas typeset, errors, inline math left raw, images."""
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("MathJax.startup.promise")
    return page.evaluate(r"""() => {
        const prose = [...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => {
            const c = e.cloneNode(true); c.querySelectorAll('code, pre, mjx-container').forEach(x => x.remove());
            return c.textContent; }).join('\n');
        return {
            formulas: document.querySelectorAll('mjx-container').length,
            errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent),
            raw: (prose.match(/\$\$[^$]+\$\$|\\\(|\\\[|\$[^$\s][^$\n]*[^$\s\\]\$/g) || []),
            images: [...document.images].map(im => ({src: im.src.slice(0, 80), ok: im.complete && im.naturalWidth > 0})),
            widgets: document.querySelectorAll('.jupyter-widgets .widget-box, .jupyter-widgets .jupyter-widgets').length,
            stepper: [...document.querySelectorAll('.lateint-stepper')].some(e => /Query stepper/.test(e.textContent)
                                                                             && e.querySelector('span.picked')),
        };
    }""")


@pytest.mark.slow(seconds=40)
def test_every_page_loads_offline_with_formulas_and_images(browser, site, server):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) >= 1 + 9 + 8 + 1
    seen = {}
    for name in pages:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems = PageProblems(page, allowed=(server,))
        page.goto(server + name)
        report = typeset_report(page)
        page.wait_for_load_state("networkidle")
        assert not report["errors"], f"{name}: formulas MathJax could not typeset: {report['errors']}"
        assert not report["raw"], f"{name}: math left as raw TeX: {report['raw'][:5]}"
        broken = [im["src"] for im in report["images"] if not im["ok"]]
        assert not broken, f"{name}: images that did not load: {broken}"
        assert not problems.errors, f"{name}: {problems.errors}"
        seen[name] = report
        page.close()
    assert seen["lessons/02_maxsim_by_hand.html"]["formulas"] >= 1, "lesson 02's MaxSim formula is typeset"
    assert sum(r["formulas"] for r in seen.values()) >= 10
    assert len(seen["lessons/01_one_vector_dilutes.html"]["images"]) >= 3, "the lessons' plots are on the page"
    assert seen["lessons/02_maxsim_by_hand.html"]["stepper"], "the query stepper's static view is on the page"


@pytest.mark.slow
def test_solutions_only_when_asked(tmp_path):
    index = site_build.build(tmp_path / "site", solutions=True, deck=False)
    site = index.parent
    solved = sorted(p.name for p in (site / "solutions").glob("*.html"))
    assert solved == sorted(p.stem + ".html" for p in (ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    exercise = (site / "exercises" / "02_maxsim_by_hand.html").read_text(encoding="utf-8")
    assert 'href="../solutions/02_maxsim_by_hand.html"' in exercise
    assert "worked solutions are included" in index.read_text(encoding="utf-8")


def test_the_home_page_links_the_deck_when_it_is_built():
    home = site_build.Page(ROOT / "README.md", "index.html", "home", kind="home")
    deck = site_build.Page(ROOT / "slides" / "deck.md", "deck/index.html", "Slides", kind="deck")
    with_deck = site_build.home_markdown([], {}, has_deck=True, solutions=False)
    assert "(slides/deck.md)" in with_deck and "(slides/deck.md)" not in site_build.home_markdown([], {}, False, False)
    body = '<a href="slides/deck.md">slides</a>'
    assert site_build.rewrite_links(body, home, {"README.md": home, "slides/deck.md": deck}) == '<a href="deck/index.html">slides</a>'

"""The course in a real browser (Debian's Chromium, driven by Playwright): the built deck, and
lesson 02's query stepper and lesson 00's first search in a live JupyterLab.

Run them alone with ``pytest -m browser``; skip them with ``-m "not browser"``. Screenshots go
to ``tests/artifacts/`` (git-ignored). See ``tests/browser.py`` for how Chromium is found and
how JupyterLab is started and always stopped.
"""
from __future__ import annotations

import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from browser import ARTIFACTS, PageProblems, jupyterlab

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"(-?\d+\.\d+)"


# ----------------------------------------------------------------------------- the deck


# The smallest text on the current slide as the audience sees it: each text node's computed font size
# times the scale reveal.js draws the 1280x720 slide at (speaker notes are not shown, so not measured),
# and each figure's smallest text (recorded in the PNG) times the scale the figure is shown at.
SMALLEST_TEXT = """(figureText) => {
    const slide = Reveal.getCurrentSlide(), scale = Reveal.getScale();
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    let best = {px: Infinity, text: ""};
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent.trim() || el.closest('aside.notes')) continue;
        const px = parseFloat(getComputedStyle(el).fontSize) * scale;
        if (px < best.px) best = {px, text: n.textContent.trim().slice(0, 50)};
    }
    for (const im of slide.querySelectorAll('img')) {  // a figure's text, at the size the figure is shown
        const px = figureText[im.getAttribute('src')] * (im.clientWidth / im.naturalWidth) * scale;
        if (!(px >= best.px)) best = {px, text: `the smallest text in ${im.getAttribute('src')}`};
    }
    return best;
}"""


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    """The deck, built as `make slides` builds it, into a temporary folder."""
    sys.path.insert(0, str(ROOT / "slides"))
    try:
        from build import build
    finally:
        sys.path.remove(str(ROOT / "slides"))
    return build(tmp_path_factory.mktemp("deck") / "build")


def test_every_slide_renders_offline(browser, deck):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    problems = PageProblems(page)  # file:// only: the deck must not need the network
    page.goto(deck.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    total = page.evaluate("Reveal.getTotalSlides()")
    assert 20 <= total <= 30, f"{total} slides; the talk has about 20-30"
    shots = ARTIFACTS / "slides"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    images_seen, smallest_seen = 0, 1e9
    # each figure's smallest text in its own pixels, recorded by slides/deck_figures.py when it drew it
    figure_text = {f"figures/{p.name}": float(Image.open(p).text["min-text-px"])
                   for p in (deck.parent / "figures").glob("*.png")}
    for i in range(total):
        if i:
            page.evaluate("Reveal.next()")
        page.wait_for_function(f"Reveal.getIndices().h === {i}")
        page.wait_for_function("[...Reveal.getCurrentSlide().querySelectorAll('img')].every(im => im.complete)")
        slide = page.evaluate("""() => {
            const s = Reveal.getCurrentSlide();
            return {text: s.innerText.trim(), height: s.scrollHeight,
                    images: [...s.querySelectorAll('img')].map(im => ({src: im.getAttribute('src'), width: im.naturalWidth}))};
        }""")
        where = f"slide {i + 1} ({slide['text'][:40]!r})"
        assert slide["text"] or slide["images"], f"{where} is empty"
        for im in slide["images"]:
            assert im["width"] > 0, f"{where}: image {im['src']} did not load"
        images_seen += len(slide["images"])
        assert slide["height"] <= 720, f"{where} is {slide['height']} px tall: it does not fit a 1280x720 slide"
        smallest = page.evaluate(SMALLEST_TEXT, figure_text)
        assert smallest["px"] >= 18, (f"{where}: text {smallest['text']!r} is {smallest['px']:.1f} px on a 1280x720 "
                                      "screen; the back of the room needs at least 18")
        smallest_seen = min(smallest_seen, smallest["px"])
        if i in (0, 4, 11) or i == total - 1:
            page.screenshot(path=str(shots / f"slide-{i + 1:02d}.png"))
    assert images_seen == len(list((deck.parent / "figures").glob("*.png"))) >= 5  # every figure is shown
    assert smallest_seen < 30, "the measurement sees the small print (the source lines)"
    code = page.evaluate("[...document.querySelectorAll('.reveal pre code')].map(c => c.querySelectorAll('span').length)")
    assert code and all(n > 0 for n in code), f"code on the slides is highlighted (spans per block: {code})"
    notes = page.evaluate("document.querySelectorAll('aside.notes').length")
    assert notes >= 10, "speaker notes on the key slides"
    assert not problems.errors, problems.errors


# ------------------------------------------------------------------------ JupyterLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving temporary copies of lessons 00 and 02 (the repository's files stay as they are)."""
    import nbformat

    from lateint.data import default_data_dir

    root = tmp_path_factory.mktemp("lab")
    for name in ("00_setup.ipynb", "02_maxsim_by_hand.ipynb"):  # as a learner gets them, outputs cleared
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, root / name)
    # the stepper alone, for the save test; lesson 02's kernelspec, so it opens with the same kernel
    stepper_only = nbformat.v4.new_notebook(metadata=nbformat.read(ROOT / "notebooks" / "02_maxsim_by_hand.ipynb", as_version=4).metadata)
    stepper_only.metadata.pop("widgets", None)
    stepper_only.cells = [nbformat.v4.new_code_cell(STEPPER_CELL)]
    nbformat.write(stepper_only, root / STEPPER_NOTEBOOK)
    # autosave off: a save seen on disk is the one the test asked for
    settings = root / ".jupyter" / "user-settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    # the copies are outside the repository: point the kernels at the datasets this checkout uses
    with jupyterlab(root, extra_env={"LATEINT_DATA": str(default_data_dir())}) as server:
        yield server


STEPPER_NOTEBOOK = "stepper.ipynb"
STEPPER_CELL = """import lateint
from lateint.display.widgets import query_stepper
from lateint.lessons.demo import demo_corpus

query_stepper(lateint.load_encoder(), demo_corpus())"""


def open_notebook(browser, lab, name: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = PageProblems(page, allowed=(f"http://127.0.0.1:{lab.port}/",), outside_is_error=False)
    page.goto(lab.url(f"lab/workspaces/{Path(name).stem}/tree/{name}"))  # a workspace of its own: only this tab
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_kernel_idle(page)
    return page, problems


def wait_kernel_idle(page, timeout_s: float = 60) -> None:
    """Wait until the status bar says the notebook's kernel is started and idle."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle$")).first.wait_for(timeout=timeout_s * 1000)


@contextmanager
def screenshot_on_failure(page, name: str):
    """Save what the page showed when an assertion or a wait failed."""
    try:
        yield
    except BaseException:
        (ARTIFACTS / "lab").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lab" / f"FAILED-{name}.png"), full_page=True)
        raise


def run_all(page, timeout_s: float) -> None:
    """Run > Run All Cells, then wait until every code cell has run (the copies start without outputs)."""
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function("document.querySelectorAll('.jp-InputPrompt').length > 0")
    page.wait_for_function(
        """() => { const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                   return prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
        timeout=timeout_s * 1000, polling=1000)


class Stepper:
    """Lesson 02's query stepper as the page shows it."""

    def __init__(self, page) -> None:
        self.page = page
        self.box = page.locator(".lateint-stepper").first

    def match_text(self) -> str:
        return self.box.locator(".widget-html-content").filter(has_text="Running total").first.text_content()

    def reading(self) -> dict:
        """The step ("3 of 8"), the picked document token, its similarity and the running total."""
        text = self.match_text()
        step = re.search(r"\((\d+) of (\d+)\)", text)
        sim = re.search(r"similarity " + NUMBER, text)
        total = re.search(r"Running total " + NUMBER + " of " + NUMBER, text)
        assert step and sim and total, f"unexpected stepper text: {text!r}"
        picked = self.box.locator("span.picked")
        return {"step": int(step.group(1)), "n": int(step.group(2)), "similarity": float(sim.group(1)),
                "total": float(total.group(1)), "full": float(total.group(2)), "picked": picked.text_content(),
                "picked_pos": int(picked.get_attribute("data-pos")),
                "done_rows": self.box.locator("tr.done").count(), "rows": self.box.locator("tr[data-step]").count()}

    def button(self, label: str):
        return self.box.locator(f"button:has-text('{label}')")

    def wait_disabled(self, *labels: str, enabled: tuple[str, ...] = (), timeout_s: float = 30) -> None:
        """Wait until the buttons in ``labels`` are disabled and those in ``enabled`` enabled (the widget
        updates them just after its text); fails after ``timeout_s``."""
        from playwright.sync_api import expect as playwright_expect

        for label in labels:
            playwright_expect(self.button(label)).to_be_disabled(timeout=timeout_s * 1000)
        for label in enabled:
            playwright_expect(self.button(label)).to_be_enabled(timeout=timeout_s * 1000)

    def wait_step(self, step: int) -> None:
        self.box.locator(".widget-html-content", has_text=f"({step} of ").first.wait_for(timeout=30_000)

    def rankings_tab(self):
        return self.box.locator(".lm-TabBar-tab", has_text="rankings")


def test_query_stepper_in_jupyterlab(browser, lab):
    page, problems = open_notebook(browser, lab, "02_maxsim_by_hand.ipynb")
    with screenshot_on_failure(page, "lesson-02"):
        drive_the_stepper(page, problems)


def drive_the_stepper(page, problems: PageProblems) -> None:
    shots = ARTIFACTS / "lab"
    shots.mkdir(parents=True, exist_ok=True)
    run_all(page, timeout_s=240)
    stepper = Stepper(page)
    stepper.box.scroll_into_view_if_needed()

    # Run All leaves the learner at the first token (a later cell drives a second stepper)
    start = stepper.reading()
    assert start["step"] == 1 and start["done_rows"] == 1 and start["rows"] == start["n"]
    assert start["total"] == pytest.approx(start["similarity"], abs=1e-3)
    stepper.wait_disabled("prev", enabled=("next",))
    page.screenshot(path=str(shots / "stepper-start.png"))

    # next: one more query token is counted; its similarity is added to the running total
    stepper.button("next").click()
    stepper.wait_step(2)
    second = stepper.reading()
    assert second["done_rows"] == 2
    stepper.wait_disabled(enabled=("prev",))
    assert second["total"] == pytest.approx(start["total"] + second["similarity"], abs=2e-3)
    assert (second["picked_pos"], second["similarity"]) != (start["picked_pos"], start["similarity"])

    # the slider, by keyboard: one step right, then to the end (next is disabled there)
    handle = stepper.box.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    stepper.wait_step(3)
    third = stepper.reading()
    assert third["total"] == pytest.approx(second["total"] + third["similarity"], abs=2e-3)
    handle.press("End")
    stepper.wait_step(start["n"])
    last = stepper.reading()
    assert last["total"] == pytest.approx(last["full"], abs=2e-3) and last["done_rows"] == last["n"]
    stepper.wait_disabled("next")
    page.screenshot(path=str(shots / "stepper-last-token.png"))

    # an empty query: the error, and nothing left of the previous query
    text = stepper.box.locator("input[type='text']").first
    text.fill("   ")
    text.press("Enter")
    stepper.box.locator(".widget-html-content", has_text="non-empty").first.wait_for(timeout=30_000)
    assert stepper.box.locator("span.picked").count() == 0 and stepper.box.locator("tr[data-step]").count() == 0
    stepper.wait_disabled("next", "prev")  # fails after 30 s if either stays enabled

    # type a new query: its own tokens, from the first; the picked token is in Venus's document
    text.fill("hottest planet")
    text.press("Enter")
    stepper.box.locator(".widget-html-content", has_text="(1 of 4)").first.wait_for(timeout=30_000)
    typed = stepper.reading()
    assert typed["n"] == 4 and typed["rows"] == 4 and typed["done_rows"] == 1
    assert "venus" in stepper.box.locator(".widget-html-content", has_text="celsius").first.text_content().lower()
    # Enter again on the same query, after stepping: back to token 1
    stepper.button("next").click()
    stepper.wait_step(2)
    text.press("Enter")
    stepper.wait_step(1)

    # the rankings tab
    stepper.rankings_tab().click()
    ranking = stepper.box.locator("td[data-method='maxsim'][data-rank='1']")
    ranking.wait_for(state="visible", timeout=10_000)
    assert ranking.get_attribute("data-doc") == "astro-venus"
    page.screenshot(path=str(shots / "stepper-rankings.png"))

    # reload with the stepper off-screen at load, then the tab must still answer
    page.click(".lm-MenuBar-itemLabel:text-is('File')")
    page.click(".lm-Menu-itemLabel:text-is('Save Notebook')")
    page.locator(".jp-mod-dirty").wait_for(state="detached", timeout=15_000)  # saved: the tab's dot is gone
    page.reload()
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_kernel_idle(page)
    stepper = Stepper(page)
    stepper.box.wait_for(state="attached", timeout=60_000)
    stepper.box.scroll_into_view_if_needed()
    stepper.box.locator(".lm-TabBar-tab", has_text="MaxSim steps").click()
    stepper.rankings_tab().click()
    stepper.box.locator("td[data-method='maxsim'][data-rank='1']").wait_for(state="visible", timeout=10_000)
    page.screenshot(path=str(shots / "stepper-after-reload.png"))

    # readable in the light and the dark theme: greyed rows and the orange text >= 4.5:1
    stepper.box.locator(".lm-TabBar-tab", has_text="MaxSim steps").click()
    for theme in ("light", "dark"):
        if theme == "dark":
            page.click(".lm-MenuBar-itemLabel:text-is('Settings')")
            page.click(".lm-Menu-itemLabel:text-is('Theme')")
            page.click(".lm-Menu-itemLabel:text-is('JupyterLab Dark')")
            page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
            page.wait_for_timeout(500)
        seen = page.evaluate(CONTRAST_JS)
        assert seen["todo"] >= 4.5 and seen["accent"] >= 4.5, (theme, seen)
        assert seen["done_bar"] != seen["page"] and seen["todo_bar"] == "transparent", (theme, seen)
        stepper.box.screenshot(path=str(shots / f"stepper-{theme}.png"))
    assert not problems.errors, problems.errors


@pytest.mark.slow
def test_ctrl_s_saves_from_the_stepper_text_box(browser, lab):
    """Ctrl+S (Cmd+S on macOS) with the cursor in the stepper's text box saves the notebook, while
    letters typed there stay in the box (none reaches the notebook's shortcuts: "b" would add a cell)."""
    page, problems = open_notebook(browser, lab, STEPPER_NOTEBOOK)
    saved = lab.root / STEPPER_NOTEBOOK
    with screenshot_on_failure(page, "stepper-save"):
        run_all(page, timeout_s=120)
        stepper = Stepper(page)
        stepper.box.wait_for(timeout=60_000)
        stepper.wait_step(1)
        cells = page.locator(".jp-Notebook .jp-Cell").count()
        text = stepper.box.locator("input[type='text']").first
        text.click()
        page.keyboard.press("ControlOrMeta+a")  # editing keys with Ctrl still edit the box
        page.keyboard.type("bab")  # in command mode, a / b insert a cell above / below
        assert text.input_value() == "bab" and page.locator(".jp-Notebook .jp-Cell").count() == cells
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("hottest planet")
        page.keyboard.press("Enter")
        stepper.wait_step(1)
        stepper.box.locator(".widget-html-content", has_text="(1 of 4)").first.wait_for(timeout=30_000)
        assert page.locator(".jp-mod-dirty").count() > 0, "running the cell left the notebook unsaved"
        assert nbformat_outputs(saved) == 0  # on disk: still the copy without outputs

        page.keyboard.press("ControlOrMeta+s")
        page.locator(".jp-mod-dirty").wait_for(state="detached", timeout=15_000)  # the tab's unsaved dot is gone
        assert nbformat_outputs(saved) > 0, "the file on disk has the cell's output: Ctrl+S saved it"
        assert page.evaluate("document.activeElement.type") == "text" and text.input_value() == "hottest planet"
        assert page.locator(".jp-Dialog").count() == 0  # no "save as" or error dialog
    assert not problems.errors, problems.errors


def nbformat_outputs(path: Path) -> int:
    """How many outputs the notebook file on disk holds."""
    import nbformat

    return sum(len(c.get("outputs", [])) for c in nbformat.read(path, as_version=4).cells)


# contrast (WCAG) of the stepper's muted row text and its orange text against what is behind them
CONTRAST_JS = """() => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = rgb(c).map(v => v / 255).map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const opaque = c => c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c);
    const behind = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor; if (opaque(c)) return c; }
                           return 'rgb(255, 255, 255)'; };
    const ratio = el => { const [a, b] = [lum(getComputedStyle(el).color), lum(behind(el))].sort((x, y) => y - x);
                          return (a + 0.05) / (b + 0.05); };
    const box = document.querySelector('.lateint-stepper');
    const todo = box.querySelector('tr.todo td');
    const accent = [...box.querySelectorAll('b')].find(b => b.getAttribute('style') && b.getAttribute('style').includes('lateint-accent'));
    const bar = sel => { const c = getComputedStyle(box.querySelector(sel)).backgroundColor; return opaque(c) ? c : 'transparent'; };
    return {todo: ratio(todo), accent: ratio(accent), page: behind(todo),
            done_bar: bar('tr.done td div'), todo_bar: bar('tr.todo td div')};
}"""


def test_lesson_00_first_search_renders(browser, lab):
    page, problems = open_notebook(browser, lab, "00_setup.ipynb")
    with screenshot_on_failure(page, "lesson-00"):
        run_all(page, timeout_s=120)
        output = page.locator(".jp-OutputArea-output", has_text="Which planet is the hottest? (8 query tokens)").first
        output.wait_for(timeout=10_000)
        table = page.locator(".jp-OutputArea-output", has_text="rank  pooled").first.inner_text()
    first_row = next(line for line in table.splitlines() if line.strip().startswith("1 "))
    assert first_row.split()[1] == "astro-venus" and first_row.split()[3] == "astro-venus"
    (ARTIFACTS / "lab").mkdir(parents=True, exist_ok=True)
    output.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "lab" / "lesson-00-first-search.png"))
    assert not problems.errors, problems.errors

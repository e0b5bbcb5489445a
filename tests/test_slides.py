"""The deck's source (slides/): every number on a slide comes from a lesson or the benchmarks,
every figure it names can be drawn, and the build writes the page it should. No browser needed
(tests/test_browser.py opens the built deck)."""
from __future__ import annotations

import json
import os
import re
import stat
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "slides"))
import build  # noqa: E402  (slides/build.py)
from deck_figures import FIGURES  # noqa: E402

DECK = (ROOT / "slides" / "deck.md").read_text(encoding="utf-8")
# a number as written on a slide: 0.162, 1,536, 54%, 2.0×, 244× (digits with , or . inside)
NUMBER = re.compile(r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?")


def sources() -> str:
    """Everything a slide may quote: the lessons (text and printed outputs) and the benchmark tables."""
    parts = [(ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")]
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            parts.append("".join(cell["source"]))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def slide_numbers(markdown: str) -> set[str]:
    """The numbers of the slides' text, without code blocks, HTML entities, figure paths or lesson names."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"&#?\w+;|figures/\w+\.png|lessons? \d\d(?:[–-]\d\d)?|\d\d_\w+", " ", text, flags=re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    return {n.rstrip(",").lstrip("+-") for n in NUMBER.findall(text)}


def test_every_number_on_a_slide_is_in_a_lesson_or_the_benchmarks():
    known = sources()
    numbers = slide_numbers(DECK)
    assert {"0.162", "0.960", "374,252", "54", "0.347"} <= numbers  # the reader finds the deck's numbers
    missing = sorted(n for n in numbers if n not in known)
    assert not missing, f"numbers on slides that no lesson or benchmarks/README.md states: {missing}"


def test_the_number_check_catches_an_invented_figure():
    assert "0.987654" in slide_numbers(DECK + "\n---\n\n## New\n\n- MaxSim wins by 0.987654\n")
    assert "0.987654" not in sources()


def test_every_named_figure_can_be_drawn_and_every_drawing_is_used():
    names = build.figure_names(DECK)
    assert names and set(names) == set(FIGURES), "deck.md and deck_figures.FIGURES name the same figures"
    assert build.figure_names("![a](figures/x.png) ![b](figures/y.png) ![a again](figures/x.png)") == ["x", "y"]


def test_slide_count_and_speaker_notes():
    slides = re.split(r"^\r?\n?---\r?$", DECK, flags=re.M)
    assert 20 <= len(slides) <= 30
    # every content slide has speaker notes; only the movements' title cards ("## Movement N" + a title) may not
    dividers = [s for s in slides if re.fullmatch(r"\s*## Movement \d\s+# [^\n]+\s*", s)]
    assert len(dividers) == 3
    silent = [s.strip().splitlines()[0] for s in slides if s not in dividers and not re.search(r"^Note:\n\S", s, flags=re.M)]
    assert not silent, f"content slides without speaker notes: {silent}"
    last = max(p.stem[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for where in (slides[0], slides[-1]):  # the title and "try it" name the whole course
        assert f"lessons 00–{last}" in where.lower(), f"the course has lessons 00–{last}: {where.strip()[:60]!r}"
    for placeholder in ("TODO", "TBD", "XXX", "lorem"):
        assert placeholder not in DECK


def test_render_escapes_the_markdown_into_the_template():
    page = build.render("# A < B & C\n\n<div>x</div>", "<textarea>{{ deck }}</textarea>")
    assert page == "<textarea># A &lt; B &amp; C\n\n&lt;div&gt;x&lt;/div&gt;</textarea>"  # the browser decodes it back
    with pytest.raises(ValueError, match="deck"):
        build.render("x", "<html></html>")


def test_only_the_needed_reveal_files_are_copied(tmp_path, monkeypatch):
    """copy_reveal unpacks REVEAL_FILES and nothing else (a small fake tarball, no network)."""
    package = tmp_path / "package"
    wanted = [f if not f.endswith("/") else f + "font.woff" for f in build.REVEAL_FILES]
    for name in [*wanted, "dist/theme/black.css", "demo.html"]:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(name)
    tgz = tmp_path / "reveal.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(package, arcname="package")
    monkeypatch.setattr(build, "reveal_tarball", lambda: tgz)
    build.copy_reveal(tmp_path / "out")
    copied = sorted(str(p.relative_to(tmp_path / "out" / "reveal")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert copied == sorted(wanted)


def test_template_loads_only_copied_files():
    template = (ROOT / "slides" / "template.html").read_text()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', template):
        assert not ref.startswith(("http:", "https:", "//")), f"{ref}: the deck must not need the network"
        if ref.startswith("data:"):  # inline (the favicon): no request at all
            continue
        assert any(ref.removeprefix("reveal/").startswith(f) for f in build.REVEAL_FILES), ref


def test_the_built_deck_is_readable_by_a_web_server(tmp_path):
    """slides/build/ gets the umask's mode (0755 under umask 022), not the 0700 of a temporary folder."""
    deck = tmp_path / "deck.md"
    deck.write_text("# A deck without figures\n", encoding="utf-8")
    old = os.umask(0o022)
    try:
        build.build(tmp_path / "out", deck)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755

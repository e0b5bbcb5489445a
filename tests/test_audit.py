"""The label-free audit (lateint.audit): reading a messy folder, probes, intervals, the command and its report,
a BEIR folder with judgements, and the report in Chromium (no console error, no request off the machine)."""
from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path

import pytest

from lateint.display.colours import PICKED_RGB
from lateint.audit import folder as audit_folder
from lateint.audit import read_folder, wilson
from lateint.audit.folder import read_file, sample_by_size
from lateint.audit.probes import POSITION_BINS, length_bin, make_probes, position_bin, probe_dataset

TOPICS = ["lighthouse", "glacier", "orchard", "harbour", "volcano", "library", "railway", "vineyard", "observatory",
          "monastery", "canal", "quarry", "bakery", "foundry", "meadow", "reef"]
WORDS = ("keeper lens storm winter north river stone bridge tower market bread copper salt forest valley island "
         "engine signal ledger winding candle rope mill barley lantern anchor chapel furnace ferry cellar").split()


def synthetic_text(rng: random.Random, topic: str, n_sentences: int) -> str:
    """A document of ``n_sentences`` sentences about ``topic``: each sentence names the topic's own words."""
    own = rng.sample(WORDS, 6)
    out = []
    for i in range(n_sentences):
        words = rng.sample(WORDS, 5) + rng.sample(own, 2)
        out.append(f"The {topic} {words[0]} near the {words[1]} kept {words[2]} and {words[3]} {i} "
                   f"beside the {words[4]} {words[5]} of {words[6]}.")
    return " ".join(out)


def write_mixed_folder(root: Path, seed: int = 0) -> Path:
    """Documents of 2 to 60 sentences as .txt, .md, .html and one .pdf, plus every kind of bad file."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i, topic in enumerate(TOPICS):
        text = synthetic_text(rng, topic, [3, 8, 20, 45][i % 4])
        kind = i % 3
        if kind == 0:
            (root / f"{topic}.txt").write_text(text, encoding="utf-8")
        elif kind == 1:
            (root / "notes").mkdir(exist_ok=True)
            (root / "notes" / f"{topic}.md").write_text(f"# {topic}\n\n{text}\n", encoding="utf-8")
        else:
            (root / f"{topic}.html").write_text(f"<html><head><style>p {{color: red}}</style><script>var secret = 1;"
                                                f"</script></head><body><p>{text}</p></body></html>", encoding="utf-8")
    (root / "report.pdf").write_bytes(tiny_pdf("The canal lock keeper logged every barge that passed the quarry."))
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me: the bakery sold bread all winter long.".encode("latin-1"))
    with open(root / "huge.txt", "wb") as f:  # 50 MB, sparse: takes no disk
        f.truncate(50 * 2**20)
    (root / "broken.md").symlink_to(root / "nowhere.md")
    (root / "photo.png").write_bytes(b"\x89PNG\r\n")
    (root / ".hidden.txt").write_text("hidden files are not documents, and not reported")
    return root


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream shows ``text`` in Helvetica: what pypdf's text extraction reads."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


# ------------------------------------------------------------------ reading, without the model


def test_a_messy_folder_is_read_and_every_bad_file_skipped_with_its_reason(tmp_path):
    docs = read_folder(write_mixed_folder(tmp_path / "docs"), progress=False)
    assert len(docs.texts) == len(TOPICS) + 1 and docs.n_listed == len(TOPICS) + 1
    reasons = dict(docs.skipped)
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.txt", "huge.txt", "broken.md", "photo.png"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["binary.txt"]
    assert "not UTF-8" in reasons["latin1.txt"] and "iconv" in reasons["latin1.txt"]
    assert "50 MB" in reasons["huge.txt"] and "limit" in reasons["huge.txt"]
    assert "not a document type" in reasons["photo.png"]
    assert docs.texts["lighthouse.txt"].startswith("The lighthouse")
    glacier = docs.texts["notes/glacier.md"]
    assert glacier.startswith("# glacier The glacier")
    orchard = docs.texts["orchard.html"]  # the markup, the script and the style are gone, the text stays
    assert orchard.startswith("The orchard") and "secret" not in orchard and "<p>" not in orchard and "color" not in orchard
    assert docs.texts["report.pdf"] == "The canal lock keeper logged every barge that passed the quarry."


def test_folders_that_cannot_be_audited_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no .txt"):
        read_folder(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_bytes(b"")
    (bad / "b.txt").write_bytes(b"\xff\xfe caf\xe9" * 10)
    with pytest.raises(ValueError, match="none of the 2 files .* a.txt: empty file"):
        read_folder(bad, progress=False)
    (bad / "c.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(ValueError, match="c.pdf: (unreadable PDF|no text found)"):
        read_folder(bad, progress=False)


def test_a_file_over_the_limit_is_not_read(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("a file over the limit was read"))
    with pytest.raises(ValueError, match="over the 0 MB limit"):
        read_file(big, max_bytes=100)


def test_sample_by_size_spreads_over_the_sizes_and_is_seeded():
    sizes = {f"d{i}": i for i in range(100)}
    a = sample_by_size(sizes, 10, seed=3)
    assert a == sample_by_size(sizes, 10, seed=3) != sample_by_size(sizes, 10, seed=4)
    assert sorted(int(x[1:]) // 10 for x in a) == list(range(10))  # one from each tenth of the sizes
    assert sample_by_size(sizes, 500) == sorted(sizes)
    assert audit_folder.MAX_BYTES == 20 * 2**20


def test_wilson_interval_matches_the_formula():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 10)[0] == 0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10)[1] == 1 and wilson(0, 0) == (0.0, 1.0)
    assert wilson(50, 100)[1] - wilson(50, 100)[0] < hi - lo  # more probes, a narrower interval


def test_bins_are_counted_in_windows():
    assert [length_bin(n, 254) for n in (10, 254, 255, 508, 509, 1016, 1017)] == [
        "fits the window", "fits the window", "1-2 windows", "1-2 windows", "2-4 windows", "2-4 windows", "over 4 windows"]
    assert [position_bin(t, 254) for t in (0, 253, 254, 507, 508, 5000)] == [
        "first window", "first window", "second window", "second window", "further", "further"]


# ------------------------------------------------------------------ probes, with the model's tokenizer


def test_probes_are_stratified_seeded_and_removed_from_their_documents(encoder):
    rng = random.Random(1)
    ids = [f"d{i}" for i in range(12)]
    texts = [synthetic_text(rng, TOPICS[i], [4, 15, 40, 70][i % 4]) for i in range(12)]
    probes = make_probes(encoder, ids, texts, n=30, per_doc=2, seed=0)
    assert probes == make_probes(encoder, ids, texts, n=30, per_doc=2, seed=0)
    assert probes != make_probes(encoder, ids, texts, n=30, per_doc=2, seed=1)
    assert len(probes) == 24  # two per document: fewer than asked, none twice
    assert {p.position for p in probes} == set(POSITION_BINS)  # past the window included
    assert len({p.length for p in probes}) == 4
    for p in probes:
        text = texts[ids.index(p.doc)]
        assert text[p.char_start : p.char_end] == p.sentence
        start = len(encoder.tokenizer(text[: p.char_start], add_special_tokens=False)["input_ids"])
        assert abs(start - p.token_start) <= 1
    ds = probe_dataset(ids, texts, probes)
    corpus = dict(zip(ds.doc_ids, ds.doc_texts))
    for p in probes:
        assert p.sentence not in corpus[p.doc] and ds.qrels[p.id] == {p.doc: 1} and ds.queries[p.id] == p.sentence
    with pytest.raises(ValueError, match="positive"):
        make_probes(encoder, ids, texts, n=0)


# ------------------------------------------------------------------ the command and its report


@pytest.fixture(scope="module")
def mixed_report(tmp_path_factory):
    from lateint.audit.__main__ import main

    root = tmp_path_factory.mktemp("audit")
    docs = write_mixed_folder(root / "docs")
    out = root / "report.html"
    code = main([str(docs), "--out", str(out), "--probes", "40", "--cache", str(root / "cache"),
                 "--corpus-size", "100000"])
    return code, out, root


@pytest.mark.slow
def test_the_command_writes_one_self_contained_report(mixed_report, capsys):
    code, out, root = mixed_report
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not list(out.parent.glob(".report.html.*"))  # written atomically: no temporary left
    for strategy in ("pooled, first window", "cram (one vector, all tokens)", "chunks of 128 tokens",
                     "MaxSim, whole document", "BM25, whole text", "fused: BM25 + chunks (RRF)"):
        assert page.count(strategy) >= 3, f"{strategy} is in every table"
    assert "Verdict" in page and ("Use " in page) and "How sure" in page
    assert "6 files skipped" in page and "not UTF-8" in page
    assert "Wilson 95 %" in page and "paired bootstrap" in page and "What probes measure" in page
    assert "100,000 documents" in page and "MAX_SIM" in page
    assert page.count("data:image/png;base64,") == 2
    assert not re.findall(r'(?:src|href)="(?!data:|https://arxiv.org/abs/1906.00300)', page), "only inline images"
    assert f"background: rgba({PICKED_RGB}" in page, "matched tokens are highlighted"
    assert list((root / "cache").glob("*.safetensors")), "encodings went to the cache"


@pytest.mark.slow
def test_a_second_run_reads_the_cache(mixed_report, monkeypatch):
    """Resumable: the same folder again encodes no whole document (only the fresh timing sample)."""
    from lateint.audit.__main__ import main
    from lateint import windows

    code, out, root = mixed_report
    calls = []
    real = windows.encode_whole
    monkeypatch.setattr(windows, "encode_whole", lambda enc, texts, *a, **k: calls.append(len(texts)) or real(enc, texts, *a, **k))
    again = root / "again.html"
    assert main([str(root / "docs"), "--out", str(again), "--probes", "40", "--cache", str(root / "cache"),
                 "--corpus-size", "100000"]) == 0
    probes = lambda p: re.search(r"(\d+) probes \(seed", p.read_text()).group(1)  # noqa: E731
    assert probes(again) == probes(out)
    assert sum(calls) <= 16, f"whole documents were encoded again, not only the timing sample: {calls}"


def write_beir(root: Path, seed: int = 0) -> Path:
    """A tiny BEIR folder: 20 documents, 8 queries (a sentence of a document, reworded), qrels/test.tsv."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    texts = {f"doc{i}": synthetic_text(rng, TOPICS[i % len(TOPICS)] + ("" if i < 16 else " annex"), [3, 6, 12, 24][i % 4])
             for i in range(20)}
    (root / "corpus.jsonl").write_text("".join(json.dumps({"_id": d, "title": d.upper(), "text": t}) + "\n"
                                               for d, t in texts.items()))
    queries = {f"q{i}": f"what about the {TOPICS[i]}?" for i in range(8)}
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items()))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\tdoc{i}\t1\n" for i in range(8)))
    return root


@pytest.mark.slow(seconds=40)
def test_a_beir_folder_gets_its_judged_queries_beside_the_probes(tmp_path, encoder, capsys):
    from lateint.audit import render_report, run_audit, verdict

    docs = read_folder(write_beir(tmp_path / "beir"), progress=False)
    assert docs.kind == "BEIR" and docs.judged is not None and len(docs.judged.queries) == 8
    audit = run_audit(encoder, docs, n_probes=20, cache=None, k=3, show_progress=True)
    bars = capsys.readouterr().err  # a bar over the strategies of each measurement: probes, timing, judged queries
    for name in ("beir probes: strategies: 100%", "timing: strategies: 100%", "beir: strategies: 100%"):
        assert name in bars, bars
    assert audit.k == 3 and len(audit.probes) == 20
    judged = audit.judged
    assert set(judged) == set(audit.strategies)
    for row in judged.values():
        assert 0 <= row["ndcg@10"] <= 1 and 0 <= row["recall@100"] <= 1 and row["lo"] <= row["delta"] <= row["hi"]
    assert judged["BM25, whole text"]["ndcg@10"] > 0.9  # each query names its document's topic word
    for s in audit.strategies:
        assert audit.recall[s]["all"].n == 20 and sum(audit.recall[s][b].n for b in POSITION_BINS) == 20
        share = audit.recall[s]["all"]
        assert share.hits == sum((audit.ranks[s][p.id] or 999) <= 3 for p in audit.probes)
    assert audit.deltas["MaxSim, whole document"] == (0.0, 0.0, 0.0)
    # rivals that score every judged query as MaxSim does: no interval to speak of, and the verdict says so
    same = {**audit.judged["MaxSim, whole document"], "delta": 0.0, "lo": 0.0, "hi": 0.0}
    tie = {s: same for s in audit.judged}
    sure = verdict(dataclasses.replace(audit, judged=tie))["sure"]
    assert sure.startswith("Not sure: 8 judged queries, the two score every one of them alike"), sure
    assert "0.000 wide" not in sure
    page = render_report(audit, encoder)
    assert "Your judged queries" in page and "nDCG@10" in page and "8 judged queries" in page
    capsys.readouterr()
    assert render_report(audit, encoder, show_progress=True) == page  # the bar changes nothing in the report
    assert "examples: pooled, first window" in capsys.readouterr().err
    # the bar changes no measurement either (the seconds aside: encoding is timed afresh)
    quiet = run_audit(encoder, docs, n_probes=20, cache=None, k=3)
    assert (quiet.probes, quiet.ranks, quiet.recall, quiet.deltas) == (audit.probes, audit.ranks, audit.recall, audit.deltas)
    assert {s: {m: v for m, v in row.items() if m != "docs/s"} for s, row in quiet.judged.items()} == \
        {s: {m: v for m, v in row.items() if m != "docs/s"} for s, row in audit.judged.items()}


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_loads_in_chromium_offline_with_its_images(browser, mixed_report):
    from browser import PageProblems

    code, out, _ = mixed_report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = PageProblems(page)
    page.goto(out.as_uri())
    page.wait_for_load_state("networkidle")
    images = page.evaluate("() => [...document.images].map(im => im.complete && im.naturalWidth > 0)")
    assert images == [True, True], "both figures load from the page itself"
    assert page.locator(".verdict").inner_text().startswith("Verdict")
    assert not problems.errors, problems.errors
    page.close()


# ------------------------------------------------------------------ exercise 09's check


def fake_report(path: Path) -> Path:
    """A report file with the figures block of lateint.audit.report (what read_figures reads), nothing else."""
    share = lambda v, n: [v, max(0, v - 0.08), min(1, v + 0.08), n]  # noqa: E731
    strategies = {"pooled, first window": (0.52, (-0.14, -0.24, -0.05), 1.0),
                  "cram (one vector, all tokens)": (0.66, (-0.01, -0.09, 0.07), 1.0),
                  "MaxSim, whole document": (0.67, (0.0, 0.0, 0.0), 566.5)}
    figures = {"k": 1, "probes": 138, "documents": 36, "corpus size": 100000, "choice": "Use cram", "judged": None,
               "strategies": {s: {"recall": {"all": share(v, 138), "further": share(v, 19)}, "delta": list(d),
                                  "vectors/doc": vec, "bytes/doc": vec * 1536} for s, (v, d, vec) in strategies.items()}}
    path.write_text('<html><head><script type="application/json" id="audit-figures">' + json.dumps(figures)
                    + "</script></head><body></body></html>")
    return path


def test_the_decision_check_wants_the_report_a_strategy_two_figures_and_how_sure(tmp_path):
    from lateint.checks import CheckFailed, check_audit_decision
    from lateint.checks.lesson09 import figures_quoted

    report = fake_report(tmp_path / "report.html")
    good = ("I would build one cram vector per document. MaxSim finds 67% of the 138 probes and cram 66%, a "
            "difference whose paired interval runs from -9 to +7 points, so the probes cannot tell them apart, while "
            "MaxSim stores 566.5 vectors per document against 1. The pooled first window is measurably worse (52%).")
    check_audit_decision(report, good)
    assert figures_quoted(good, json.loads(report.read_text().split('"audit-figures">')[1].split("</script>")[0])) == [
        "67", "138", "66", "9", "7", "566.5", "52"]
    no_figures = ("I would build one cram vector per document, because MaxSim and cram find about as many probes "
                  "and the interval of their difference includes zero, and cram is far cheaper to store and to run "
                  "at the size of our collection next year.")
    cases = {
        "no report at": (tmp_path / "missing.html", good),
        "not a report of lateint.audit": (tmp_path / "other.html", good),
        "decision must be": (report, ...),
        "has 3 words": (report, "use cram instead"),
        "names no strategy": (report, "I would build the index that finds 67% of the 138 probes, since the interval "
                                      "is narrow enough for us and the rest of the team agrees with the numbers we "
                                      "saw in the report last week."),
        "quotes 0 of the report's figures": (report, no_figures),
        "does not say how sure": (report, "I would build one cram vector per document. MaxSim finds 67% and cram 66%, "
                                          "and MaxSim stores 566.5 vectors per document against one; the pooled first "
                                          "window finds 52%, which rules it out for this collection today."),
    }
    (tmp_path / "other.html").write_text("<html>just a page</html>")
    for message, (path, decision) in cases.items():
        with pytest.raises(CheckFailed, match=message):
            check_audit_decision(path, decision)

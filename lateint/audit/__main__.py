"""``python -m lateint.audit DOCS --out report.html``: the audit from the command line (see :mod:`lateint.audit`)."""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lateint.audit",
        description="Audit a folder of documents (.txt, .md, .html, .pdf, or a BEIR folder): does one vector per "
                    "document lose their content? Writes one self-contained HTML report.")
    parser.add_argument("docs", help="the folder of documents")
    parser.add_argument("--out", default="audit.html", help="the report to write (default: audit.html)")
    parser.add_argument("--probes", type=int, default=300, help="probes to draw (default: 300; more = narrower intervals)")
    parser.add_argument("--k", type=int, default=None, help="Recall@k cut-off (default: by corpus size: 1, 5 or 10)")
    parser.add_argument("--corpus-size", type=int, default=None,
                        help="documents to extrapolate the cost to (default: the documents in the folder)")
    parser.add_argument("--max-docs", type=int, default=1000, help="most documents read, spread over sizes (default: 1000)")
    parser.add_argument("--max-tokens", type=int, default=400_000,
                        help="most document tokens scored at once; bounds memory at about 1.5 KB per token (default: 400000)")
    parser.add_argument("--max-mb", type=float, default=20, help="files larger than this are skipped (default: 20 MB)")
    parser.add_argument("--chunk-size", type=int, default=128, help="tokens per chunk (default: 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", help="qrels split of a BEIR folder (default: test)")
    parser.add_argument("--cache", default=None, help="embedding cache folder (default: $LATEINT_CACHE or ~/.cache/lateint)")
    parser.add_argument("--no-cache", action="store_true", help="encode everything fresh, write no cache")
    parser.add_argument("--model", default=None, help="encoder (default: the embedded all-MiniLM-L6-v2)")
    a = parser.parse_args(argv)

    from ..encoders import load_encoder
    from .folder import read_folder
    from .measure import run_audit, verdict
    from .report import write_report

    for name in ("probes", "max_docs", "max_tokens", "chunk_size"):
        if getattr(a, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    start = time.perf_counter()
    try:
        docs = read_folder(a.docs, max_docs=a.max_docs, seed=a.seed, max_bytes=int(a.max_mb * 2**20), split=a.split)
    except (FileNotFoundError, ValueError) as e:
        print(f"lateint.audit: {e}", file=sys.stderr)
        return 2
    print(f"{len(docs.texts):,} documents read, {len(docs.skipped)} file{'' if len(docs.skipped) == 1 else 's'} skipped"
          + "".join(f"\n  skipped {n}: {r}" for n, r in docs.skipped[:20])
          + (f"\n  ... and {len(docs.skipped) - 20} more (all listed in the report)" if len(docs.skipped) > 20 else ""))
    encoder = load_encoder(a.model)
    try:
        audit = run_audit(encoder, docs, n_probes=a.probes, k=a.k, seed=a.seed, corpus_size=a.corpus_size,
                          chunk_size=a.chunk_size, cache=None if a.no_cache else (a.cache or True), max_tokens=a.max_tokens,
                          show_progress=True)
    except ValueError as e:
        print(f"lateint.audit: {e}", file=sys.stderr)
        return 2
    write_report(a.out, audit, encoder, show_progress=True)
    v = verdict(audit)
    print(f"{v['choice']}\n{v['sure']}\nreport: {a.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

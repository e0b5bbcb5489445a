"""Encoding speed: lateint's encoder against sentence-transformers, same model and texts.

    python benchmarks/encode_speed.py                     # 500 SciFact documents, 256 tokens max
    python benchmarks/encode_speed.py --docs 100          # a quick look
    python benchmarks/encode_speed.py --write-readme      # also update benchmarks/README.md

Both sides load the embedded all-MiniLM-L6-v2 from the same folder, use the same
maximum length (the model's 256 tokens), batch size and torch threads, and encode
the first ``--docs`` SciFact documents (title + text, as BEIR feeds them). Methods
are timed in interleaved rounds (lateint token vectors, lateint pooled vectors,
sentence-transformers ``encode``), and the best round of each counts. The pooled
vectors are checked against sentence-transformers' before any timing is reported.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _common import report, table  # noqa: E402

from lateint import load_encoder  # noqa: E402
from lateint.data import load_beir  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--docs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2, help="timings are the best of this many interleaved rounds")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from sentence_transformers import SentenceTransformer

    from lateint.encoders import model_folder

    texts = load_beir(args.dataset).doc_texts[: args.docs]
    enc = load_encoder(batch_size=args.batch_size)
    st = SentenceTransformer(str(model_folder()), device="cpu")  # the folder load_encoder() loads
    if st.max_seq_length != enc.format.doc_length:
        raise SystemExit(f"Different maximum lengths: lateint {enc.format.doc_length}, ST {st.max_seq_length}.")
    lengths = sorted((min(n, enc.format.doc_length) for n in enc.token_counts(texts)), reverse=True)
    tokens = sum(lengths)
    # Both libraries batch texts sorted by length; positions computed = each batch's longest x its size.
    computed = sum(max(b) * len(b) for b in (lengths[i : i + args.batch_size] for i in range(0, len(lengths), args.batch_size)))

    def st_encode():
        return st.encode(texts, batch_size=args.batch_size, convert_to_tensor=True, normalize_embeddings=True)

    methods = {
        "lateint encode_documents (token vectors)": lambda: enc.encode_documents(texts, show_progress=False),
        "lateint encode_pooled (one vector)": lambda: enc.encode_pooled(texts, show_progress=False),
        "sentence-transformers encode (one vector)": st_encode,
    }
    warnings.filterwarnings("ignore", message=".*longer than the.*")  # SciFact has a few long abstracts
    diff = (enc.encode_pooled(texts[:64], show_progress=False) - st.encode(
        texts[:64], batch_size=args.batch_size, convert_to_tensor=True, normalize_embeddings=True).cpu()).abs().max()
    if diff > 1e-4:
        raise SystemExit(f"lateint's pooled vectors differ from sentence-transformers' by {diff:.2e}: fix that first.")
    best = {name: float("inf") for name in methods}
    for r in range(args.rounds):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
            print(f"round {r + 1}: {name}: {best[name]:.1f} s", flush=True)

    ref = best["sentence-transformers encode (one vector)"]
    rows = [[name, s, args.docs / s, tokens / s, f"{ref / s:.2f}×"] for name, s in best.items()]
    body = table(["method", "seconds", "docs/s", "tokens/s", "× sentence-transformers"], rows)
    note = (
        f"{args.docs} {args.dataset} documents ({tokens:,} tokens after truncation to {enc.format.doc_length}), "
        f"batch size {args.batch_size}, best of {args.rounds} interleaved rounds; pooled vectors agree with "
        f"sentence-transformers' to {diff:.1e}. Length-sorted batches: padding is {1 - tokens / computed:.1%} "
        f"of the positions the model computes."
    )
    report("encode_speed", f"{note}\n\n{body}", args.write_readme)
    return {name: args.docs / s for name, s in best.items()}


if __name__ == "__main__":
    main()

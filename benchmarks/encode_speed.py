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

bf16 (``--dtypes fp32 bf16``, the default where the CPU has native bf16): lateint's
``load_encoder(dtype=torch.bfloat16)`` against sentence-transformers with its model cast to
bf16 (``.to(torch.bfloat16)``), the same texts.
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


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--docs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2, help="timings are the best of this many interleaved rounds")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), default=None,
                   help="default: fp32, plus bf16 when the CPU has native bf16 instructions")
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from sentence_transformers import SentenceTransformer

    from lateint.cpu import cpu_features
    from lateint.encoders import model_folder

    cpu = cpu_features()
    dtypes = args.dtypes or (["fp32", "bf16"] if cpu.native_bf16 else ["fp32"])
    skipped = "" if "bf16" in dtypes else (
        " bf16 skipped: this CPU has no native bf16 (AVX512-BF16 or AMX), where bf16 is emulated and slower than "
        "fp32; `--dtypes fp32 bf16` times it anyway.")
    texts = load_beir(args.dataset).doc_texts[: args.docs]
    warnings.filterwarnings("ignore", message=".*longer than the.*")  # SciFact has a few long abstracts
    methods, checks = {}, []
    for dtype in dtypes:
        dt = DTYPES[dtype]
        enc = load_encoder(batch_size=args.batch_size, dtype=dt)
        st = SentenceTransformer(str(model_folder()), device="cpu").to(dt)  # the folder load_encoder() loads
        if st.max_seq_length != enc.format.doc_length:
            raise SystemExit(f"Different maximum lengths: lateint {enc.format.doc_length}, ST {st.max_seq_length}.")

        def st_encode(st=st, sample=texts):
            return st.encode(sample, batch_size=args.batch_size, convert_to_tensor=True, normalize_embeddings=True)

        # Before any timing: our pooled vectors against sentence-transformers' in the same dtype.
        diff = (enc.encode_pooled(texts[:64], show_progress=False) - st_encode(sample=texts[:64]).float().cpu()).abs().max()
        limit = 1e-4 if dtype == "fp32" else 2e-2  # bf16: two implementations round differently
        if diff > limit:
            raise SystemExit(f"{dtype}: lateint's pooled vectors differ from sentence-transformers' by {diff:.2e}.")
        checks.append(f"{dtype} {diff:.1e}")
        methods[(dtype, "lateint encode_documents (token vectors)")] = (
            lambda enc=enc: enc.encode_documents(texts, show_progress=False))
        methods[(dtype, "lateint encode_pooled (one vector)")] = lambda enc=enc: enc.encode_pooled(texts, show_progress=False)
        methods[(dtype, "sentence-transformers encode (one vector)")] = st_encode
    lengths = sorted((min(n, enc.format.doc_length) for n in enc.token_counts(texts)), reverse=True)
    tokens = sum(lengths)
    # Both libraries batch texts sorted by length; positions computed = each batch's longest x its size.
    computed = sum(max(b) * len(b) for b in (lengths[i : i + args.batch_size] for i in range(0, len(lengths), args.batch_size)))

    best = {key: float("inf") for key in methods}
    for r in range(args.rounds):
        for key, fn in methods.items():
            start = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - start)
            print(f"round {r + 1}: {key[0]} {key[1]}: {best[key]:.1f} s", flush=True)

    rows = []
    for (dtype, name), s in best.items():
        st_s = best[(dtype, "sentence-transformers encode (one vector)")]
        fp32_s = best.get(("fp32", name))
        rows.append([dtype, name, s, args.docs / s, tokens / s, f"{st_s / s:.2f}×",
                     "" if fp32_s is None else f"{fp32_s / s:.2f}×"])
    body = table(["dtype", "method", "seconds", "docs/s", "tokens/s", "× sentence-transformers (same dtype)",
                  "× the same method in fp32"], rows)
    note = (
        f"{args.docs} {args.dataset} documents ({tokens:,} tokens after truncation to {enc.format.doc_length}), "
        f"batch size {args.batch_size}, best of {args.rounds} interleaved rounds; pooled vectors agree with "
        f"sentence-transformers' in the same dtype to {', '.join(checks)}. Length-sorted batches: padding is "
        f"{1 - tokens / computed:.1%} of the positions the model computes. CPU: {cpu.summary()}.{skipped}"
    )
    report(f"encode_speed_{cpu.kind}", f"{note}\n\n{body}", args.write_readme)
    return {f"{dtype} {name}": args.docs / s for (dtype, name), s in best.items()}


if __name__ == "__main__":
    main()

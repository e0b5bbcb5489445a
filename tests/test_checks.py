"""The exercise checks accept right answers and reject the mistakes students make.

Each check gets the library's own function (or a short correct solution) and must
pass it; then it gets plausible wrong answers, written the way a student would write
them, and must raise CheckFailed with the diagnosis that names the mistake.
"""

import math
import re

import pytest
import torch

from lateint import checks
from lateint.metrics import ndcg_at_k, recall_at_k
from lateint.lessons.hybrid import rrf
from lateint.index import maxsim_scores
from lateint.similarity import cosine_scores, explain, maxsim
from lateint.lessons.perquery import Paired
from lateint.pooling import mean_pool

F = torch.nn.functional


def passes(check, fn, capsys, **kw):
    check(fn, **kw)
    out = capsys.readouterr().out
    assert out.startswith("✓ " + check.__name__), out


def rejects(check, fn, diagnosis, **kw):
    with pytest.raises(checks.CheckFailed) as err:
        check(fn, **kw)
    assert isinstance(err.value, AssertionError)  # a failing check cell stops like an assert
    assert re.search(diagnosis, str(err.value)), str(err.value)
    return str(err.value)


# ------------------------------------------------------------------ the harness


def test_placeholder_gets_a_plain_message():
    def stub(q, d): ...

    msg = rejects(checks.check_maxsim, stub, "returned None")
    assert "Replace the `...`" in msg


def test_passing_a_result_instead_of_the_function():
    rejects(checks.check_maxsim, 3.0, r"needs your function itself")


def test_an_exception_names_the_case():
    def crashes(q, d):
        return (q @ d).sum()  # (Lq, dim) @ (Ld, dim): shapes do not match

    msg = rejects(checks.check_maxsim, crashes, "raised RuntimeError")
    assert "Hidden case" in msg or "hidden case" in msg


def test_inputs_are_copies():
    def vandal(q, d):  # normalising in place must not change what the check compares against
        q.mul_(100.0)
        return maxsim(q / 100.0, d)

    with pytest.raises(checks.CheckFailed):  # the wrong result is still caught...
        checks.check_maxsim(lambda q, d: maxsim(q.mul_(2.0), d))
    checks.check_maxsim(vandal)  # ...and a function that undoes its own damage passes


def test_unexplained_wrong_values_are_described():
    msg = rejects(checks.check_cosine_scores, lambda q, d: cosine_scores(q, d) + 0.1, "wrong values")
    assert "differ" in msg
    rejects(checks.check_maxsim_batched, lambda Q, D, qm, dm: 2 * maxsim_scores(Q, D, qm, dm), "same factor: yours = 2")


# ------------------------------------------------------------------ 00


def test_cosine_scores(capsys):
    passes(checks.check_cosine_scores, cosine_scores, capsys)
    rejects(checks.check_cosine_scores, lambda q, d: q @ d.T, "not cosines")
    rejects(checks.check_cosine_scores, lambda q, d: cosine_scores(d, q), "transposed")
    rejects(checks.check_cosine_scores, lambda q, d: F.normalize(q, dim=0) @ F.normalize(d, dim=0).T, "wrong axis")
    rejects(checks.check_cosine_scores, lambda q, d: q @ F.normalize(d, dim=-1).T, "only the documents")


def ndcg_with(gain=lambda g: g, first_rank=1, cut=10, ideal_from_run=False):
    def ndcg(ranked, rels):
        dcg = sum(gain(rels.get(d, 0)) / math.log2(r + 1) for r, d in enumerate(ranked[:cut], start=first_rank))
        pool = [rels.get(d, 0) for d in ranked] if ideal_from_run else list(rels.values())
        ideal = sorted(pool, reverse=True)[:10]
        idcg = sum(gain(g) / math.log2(r + 1) for r, g in enumerate(ideal, start=first_rank))
        return dcg / idcg if idcg else 0.0

    return ndcg


def test_ndcg_at_10(capsys):
    passes(checks.check_ndcg_at_10, lambda ranked, rels: ndcg_at_k(ranked, rels, 10), capsys)
    passes(checks.check_ndcg_at_10, ndcg_with(), capsys)
    rejects(checks.check_ndcg_at_10, ndcg_with(gain=lambda g: 2**g - 1), r"2\*\*grade - 1")
    rejects(checks.check_ndcg_at_10, ndcg_with(first_rank=2), "off by one rank")
    rejects(checks.check_ndcg_at_10, ndcg_with(cut=None), "no cut-off")
    rejects(checks.check_ndcg_at_10, ndcg_with(ideal_from_run=True), "retrieved list only")
    rejects(checks.check_ndcg_at_10, ndcg_with(first_rank=0), "ZeroDivisionError")  # log2(0 + 1) = 0


# ------------------------------------------------------------------ 01


def test_mean_pool(capsys):
    passes(checks.check_mean_pool, mean_pool, capsys)
    rejects(checks.check_mean_pool, lambda h, m: h.mean(dim=1), "padding was counted")
    rejects(checks.check_mean_pool, lambda h, m: (h * m.unsqueeze(-1)).mean(dim=1), "padded length")
    rejects(checks.check_mean_pool, lambda h, m: (h * m.unsqueeze(-1)).sum(dim=1), "summed, not averaged")
    rejects(checks.check_mean_pool, lambda h, m: F.normalize(mean_pool(h, m), dim=-1), "L2-normalised")
    rejects(checks.check_mean_pool, lambda h, m: mean_pool(h, m).T, "transposed|wrong shape")


@pytest.fixture(scope="module")
def enc():
    import lateint

    return lateint.load_encoder()


def embed_with(enc, pooling="masked", normalise=True):
    def embed(texts):
        batch = enc.tokenize(texts, is_query=False)
        with torch.no_grad():
            h = enc.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        m = batch["attention_mask"].bool()
        v = {"masked": mean_pool(h, m), "unmasked": h.mean(dim=1), "cls": h[:, 0]}[pooling]
        return F.normalize(v, dim=-1) if normalise else v

    return embed


def test_embed_pooled(enc, capsys):
    passes(checks.check_embed_pooled, lambda texts: enc.encode_pooled(texts), capsys, encoder=enc)
    passes(checks.check_embed_pooled, embed_with(enc), capsys, encoder=enc)
    rejects(checks.check_embed_pooled, embed_with(enc, "unmasked"), "padding was counted", encoder=enc)
    rejects(checks.check_embed_pooled, embed_with(enc, "cls"), r"\[CLS\]", encoder=enc)
    rejects(checks.check_embed_pooled, embed_with(enc, normalise=False), "not L2-normalised", encoder=enc)


def needle_curve_with(enc, per_token=True, pooled="cosine"):
    from lateint.lessons.demo import needle_haystack

    def curve(needle, query, sizes):
        docs = [needle_haystack(needle, n_filler=n) for n in sizes]
        if pooled == "cosine":
            p = (enc.encode_pooled([query]) @ enc.encode_pooled(docs).T)[0]
        else:
            p = (enc.encode_pooled([query], normalize=False) @ enc.encode_pooled(docs, normalize=False).T)[0]
        q = enc.encode_queries([query])[0]
        m = torch.tensor([maxsim(q, d) / (len(q) if per_token else 1) for d in enc.encode_documents(docs)])
        return torch.stack([p, m], dim=1)

    return curve


def test_needle_curve(enc, capsys):
    passes(checks.check_needle_curve, needle_curve_with(enc), capsys, encoder=enc)
    rejects(checks.check_needle_curve, needle_curve_with(enc, per_token=False), "raw MaxSim sum", encoder=enc)
    rejects(checks.check_needle_curve, needle_curve_with(enc, pooled="dot"), "unnormalised", encoder=enc)
    rejects(
        checks.check_needle_curve, lambda n, q, s: needle_curve_with(enc)(n, q, s)[:, [1, 0]], "swapped", encoder=enc
    )


# ------------------------------------------------------------------ 02


def test_maxsim(capsys):
    passes(checks.check_maxsim, maxsim, capsys)
    passes(checks.check_maxsim, lambda q, d: torch.stack([(d @ t).max() for t in q]).sum(), capsys)  # a loop, a tensor
    rejects(checks.check_maxsim, lambda q, d: (q @ d.T).max(dim=0).values.sum(), "wrong axis")
    rejects(checks.check_maxsim, lambda q, d: (q @ d.T).max(dim=1).values.mean(), "averaged")
    rejects(checks.check_maxsim, lambda q, d: (q @ d.T).sum(), "all similarities were added")
    rejects(checks.check_maxsim, lambda q, d: maxsim(F.normalize(q, dim=-1), F.normalize(d, dim=-1)), "normalised")
    rejects(checks.check_maxsim, lambda q, d: (q @ d.T).max(dim=1).values, "ONE number")


def batched_with(mask_docs="-inf", mask_queries=True):
    def score(Q, D, qm, dm):
        sim = torch.einsum("qid,njd->qnij", Q, D)
        if mask_docs == "-inf":
            sim = sim.masked_fill(~dm[None, :, None, :], float("-inf"))
        elif mask_docs == "zero":
            sim = sim * dm[None, :, None, :]
        best = sim.max(dim=-1).values
        if mask_queries:
            best = best * qm[:, None, :]
        return best.sum(dim=-1)

    return score


def test_maxsim_batched(capsys):
    passes(checks.check_maxsim_batched, maxsim_scores, capsys)
    passes(checks.check_maxsim_batched, batched_with(), capsys)
    rejects(checks.check_maxsim_batched, batched_with(mask_docs=None), "document padding was not masked")
    rejects(checks.check_maxsim_batched, batched_with(mask_queries=False), "query padding was counted")
    rejects(checks.check_maxsim_batched, batched_with(mask_docs="zero"), "similarity 0")
    rejects(checks.check_maxsim_batched, lambda Q, D, qm, dm: maxsim_scores(D, Q, dm, qm), "transposed")


def test_best_matches(capsys):
    passes(checks.check_best_matches, lambda q, d: [(m.doc_position, m.similarity) for m in explain(q, d)], capsys)
    wrong_axis = lambda q, d: list(zip(*(t.tolist() for t in reversed((q @ d.T).max(dim=0)))))
    rejects(checks.check_best_matches, wrong_axis, "DOCUMENT token")
    minimum = lambda q, d: list(zip(*(t.tolist() for t in reversed((q @ d.T).min(dim=1)))))
    rejects(checks.check_best_matches, minimum, "worst matches")
    rejects(checks.check_best_matches, lambda q, d: (q @ d.T).max(dim=1).indices.tolist(), "pairs")


# ------------------------------------------------------------------ 03


def encode_queries_with(enc, keep_padding=False, normalise=True):
    def encode(texts):
        batch = enc.tokenize(texts, is_query=True)
        with torch.no_grad():
            h = enc.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        if normalise:
            h = F.normalize(h, dim=-1)
        return list(h) if keep_padding else [x[m.bool()] for x, m in zip(h, batch["attention_mask"])]

    return encode


def test_encode_queries_batched(enc, capsys):
    passes(checks.check_encode_queries_batched, enc.encode_queries, capsys, encoder=enc)
    passes(checks.check_encode_queries_batched, encode_queries_with(enc), capsys, encoder=enc)
    rejects(
        checks.check_encode_queries_batched,
        encode_queries_with(enc, keep_padding=True),
        "padded positions were kept",
        encoder=enc,
    )
    rejects(
        checks.check_encode_queries_batched, encode_queries_with(enc, normalise=False), "not L2-normalised", encoder=enc
    )


def test_rerank(capsys):
    def reference(q, cands):
        scores = {i: maxsim(q, d) for i, d in cands.items()}
        return sorted(scores, key=scores.get, reverse=True)

    passes(checks.check_rerank, reference, capsys)
    passes(checks.check_rerank, lambda q, c: [(i, 0.0) for i in reference(q, c)], capsys)  # (id, score) pairs are fine
    rejects(checks.check_rerank, lambda q, c: reference(q, c)[::-1], "reversed")
    pooled = lambda q, c: sorted(c, key=lambda i: -float(F.cosine_similarity(q.mean(0), c[i].mean(0), dim=0)))
    rejects(checks.check_rerank, pooled, "pooled ranking")
    rejects(checks.check_rerank, lambda q, c: list(c), "input order")


# ------------------------------------------------------------------ 04


def test_recall_at_k(capsys):
    passes(checks.check_recall_at_k, recall_at_k, capsys)
    relevant = lambda rels: {d for d, g in rels.items() if g > 0}
    rejects(checks.check_recall_at_k, lambda r, rels, k: len(relevant(rels) & set(r[:k])) / k, "precision")
    rejects(checks.check_recall_at_k, lambda r, rels, k: len(set(rels) & set(r[:k])) / len(rels), "grade 0")
    rejects(
        checks.check_recall_at_k,
        lambda r, rels, k: len(relevant(rels) & set(r)) / max(1, len(relevant(rels))),
        "no cut-off",
    )
    rejects(
        checks.check_recall_at_k,
        lambda r, rels, k: len(relevant(rels) & set(r[:k])) / len(relevant(rels)),
        "ZeroDivisionError",
    )


def test_rrf(capsys):
    def fuse(runs, start=1, k=60, use_scores=False):
        out = {}
        for run in runs:
            for qid, scores in run.items():
                ranked = sorted(scores, key=lambda d: (scores[d], d), reverse=True)
                for rank, d in enumerate(ranked, start=start):
                    out.setdefault(qid, {})[d] = out.get(qid, {}).get(d, 0.0) + (
                        scores[d] if use_scores else 1 / (k + rank)
                    )
        return out

    passes(checks.check_rrf, lambda runs: rrf(runs), capsys)
    passes(checks.check_rrf, fuse, capsys)
    rejects(checks.check_rrf, lambda runs: fuse(runs, start=0), "start at 1")
    rejects(checks.check_rrf, lambda runs: fuse(runs, k=0), "constant k")
    rejects(checks.check_rrf, lambda runs: fuse(runs, use_scores=True), "scores were added")


def test_pieces_per_word(enc, capsys):
    from lateint.lessons.domain import fragmentation

    def count(texts, special=False, distinct=False):
        words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
        words = sorted(set(words)) if distinct else words
        return sum(len(ids) for ids in enc.tokenizer(words, add_special_tokens=special)["input_ids"]) / len(words)

    passes(
        checks.check_pieces_per_word,
        lambda texts: fragmentation(enc.tokenizer, texts)["pieces_per_word"],
        capsys,
        encoder=enc,
    )
    passes(checks.check_pieces_per_word, count, capsys, encoder=enc)
    rejects(checks.check_pieces_per_word, lambda t: count(t, special=True), r"\[CLS\] and \[SEP\]", encoder=enc)
    rejects(checks.check_pieces_per_word, lambda t: count(t, distinct=True), "distinct word", encoder=enc)
    whole = lambda t: (
        sum(len(enc.tokenizer(x, add_special_tokens=False)["input_ids"]) for x in t)
        / sum(len(re.findall(r"[A-Za-z]+", x)) for x in t)
    )
    rejects(checks.check_pieces_per_word, whole, "whole text", encoder=enc)


# ------------------------------------------------------------------ 06


def test_normalized_scores(capsys):
    passes(
        checks.check_normalized_scores,
        lambda Q, D, qm, dm: maxsim_scores(Q, D, qm, dm) / qm.sum(1, keepdim=True),
        capsys,
    )
    passes(
        checks.check_normalized_scores, lambda Q, D, qm, dm: batched_with()(Q, D, qm, dm) / qm.sum(1)[:, None], capsys
    )
    rejects(
        checks.check_normalized_scores,
        lambda Q, D, qm, dm: maxsim_scores(Q, D, qm, dm) / Q.shape[1],
        "padded query length",
    )
    rejects(checks.check_normalized_scores, lambda Q, D, qm, dm: maxsim_scores(Q, D, qm, dm), "raw MaxSim sum")
    unmasked = lambda Q, D, qm, dm: batched_with(mask_queries=False)(Q, D, qm, dm) / qm.sum(1)[:, None]
    rejects(checks.check_normalized_scores, unmasked, "query padding was counted")
    rejects(
        checks.check_normalized_scores,
        lambda Q, D, qm, dm: maxsim_scores(Q, D, qm, dm) / dm.sum(1),
        "document's number",
    )


def test_largest_losses(capsys):
    def losses(per_query, n):
        rows = [(b - a, q) for q, (a, b) in per_query.items() if b < a]
        return [q for _, q in sorted(rows)][:n]

    passes(
        checks.check_largest_losses,
        lambda pq, n: [q for q, _, _ in Paired("x@1", pq, (0, 0)).largest(n, "losses")],
        capsys,
    )
    passes(checks.check_largest_losses, losses, capsys)
    wins = lambda pq, n: [q for _, q in sorted((a - b, q) for q, (a, b) in pq.items() if b > a)][:n]
    rejects(checks.check_largest_losses, wins, "WINS")
    rejects(checks.check_largest_losses, lambda pq, n: losses(pq, 99)[::-1][:n], "smallest loss first")
    rejects(checks.check_largest_losses, lambda pq, n: losses(pq, 99), "at most n")


# ------------------------------------------------------------------ 05


def test_storage_bytes(capsys):
    def storage(docs, dtype, unit=1, padded=False):
        size = torch.finfo(dtype).bits // 8 * unit
        dim = docs[0].shape[1]
        tokens = max(len(d) for d in docs) * len(docs) if padded else sum(len(d) for d in docs)
        return tokens * dim * size, len(docs) * dim * size

    passes(checks.check_storage_bytes, storage, capsys)
    passes(
        checks.check_storage_bytes,
        lambda docs, dtype: (
            int(torch.cat(docs).to(dtype).nbytes),
            len(docs) * docs[0].shape[1] * docs[0].to(dtype).element_size(),
        ),
        capsys,
    )
    rejects(checks.check_storage_bytes, lambda docs, dtype: storage(docs, dtype, unit=8), "bits, not bytes")
    rejects(checks.check_storage_bytes, lambda docs, dtype: storage(docs, dtype, padded=True), "padded to the longest")
    rejects(
        checks.check_storage_bytes,
        lambda docs, dtype: (sum(d.numel() for d in docs), len(docs) * docs[0].shape[1]),
        "count numbers",
    )


def test_token_pooling(capsys):
    def pool(vectors, factor, normalise=True, keep_last=True):
        n = -(-len(vectors) // factor) if keep_last else len(vectors) // factor
        means = torch.stack([vectors[i * factor : (i + 1) * factor].mean(0) for i in range(n)])
        return F.normalize(means, dim=-1) if normalise else means

    passes(checks.check_token_pooling, pool, capsys)
    rejects(checks.check_token_pooling, lambda v, f: pool(v, f, normalise=False), "not L2-normalised")
    rejects(checks.check_token_pooling, lambda v, f: pool(v, f, keep_last=False), "last, shorter group was dropped")
    rejects(checks.check_token_pooling, lambda v, f: v[::f], "every factor-th token")


# ------------------------------------------------------------------ exercise 04: alpha tuned on the test queries


def report(ndcg, dev_ids, test_ids, choose_on="dev", score_on="test", largest_on_tie=False):
    """A student's report_fusion: the alpha with the best mean over the `choose_on` ids and its mean over `score_on`."""
    ids = {"dev": dev_ids, "test": test_ids, "both": dev_ids + test_ids, "table": list(next(iter(ndcg.values())))}
    mean = lambda a, which: sum(ndcg[a][q] for q in ids[which]) / len(ids[which])  # noqa: E731
    order = sorted(ndcg, reverse=largest_on_tie)
    alpha = max(order, key=lambda a: (mean(a, choose_on), -order.index(a)))
    return alpha, mean(alpha, score_on)


def test_held_out_alpha(capsys):
    passes(checks.check_held_out_alpha, report, capsys)
    passes(checks.check_held_out_alpha, lambda n, d, t: list(report(n, d, t)), capsys)  # a list is a pair too
    # the bug the exercise plants: alpha chosen (and scored) on the test queries
    rejects(checks.check_held_out_alpha, lambda n, d, t: report(n, d, t, choose_on="test"), "optimistic")
    rejects(checks.check_held_out_alpha, lambda n, d, t: report(n, d, t, choose_on="both"), "dev AND test")
    rejects(checks.check_held_out_alpha, lambda n, d, t: report(n, d, t, choose_on="table"),
            "dev AND test|every query in the table")
    rejects(checks.check_held_out_alpha, lambda n, d, t: report(n, d, t, score_on="dev"), "dev queries' mean")
    rejects(checks.check_held_out_alpha, lambda n, d, t: report(n, d, t, largest_on_tie=True), "keep the smallest")
    rejects(checks.check_held_out_alpha, lambda n, d, t: max(n, key=lambda a: sum(n[a][q] for q in d)), "a pair")

    def best_test_score(n, d, t):
        alpha, _ = report(n, d, t)
        return alpha, max(sum(n[a][q] for q in t) / len(t) for a in n)

    rejects(checks.check_held_out_alpha, best_test_score, "best test mean over all alphas")


def test_held_out_alpha_agrees_with_held_out_fusion():
    """The check's answer for one split is what lesson 04's held_out_fusion reports as 'tuned'."""
    from lateint.metrics import evaluate_per_query
    from lateint.lessons.hybrid import held_out_fusion, interpolate, split_qrels

    qrels = {f"q{i}": {f"d{i}": 1} for i in range(12)}
    a = {f"q{i}": {f"d{i}": 0.9 if i % 3 else 0.1, "junk": 0.5} for i in range(12)}
    b = {f"q{i}": {f"d{i}": 1.0 if i % 2 else 0.2, "junk": 0.6} for i in range(12)}
    alphas = [i / 10 for i in range(11)]
    ndcg = {x: {q: m["ndcg@10"] for q, m in evaluate_per_query(interpolate(a, b, x), qrels, ["ndcg@10"]).items()}
            for x in alphas}
    dev, test = split_qrels(qrels, 4, seed=0)
    tuned = held_out_fusion(a, b, qrels, n_dev=4, seeds=(0,))["split 0"]
    assert report(ndcg, sorted(dev), sorted(test)) == pytest.approx((tuned["alpha"], tuned["tuned"]))


def _function_from_notebook(path, name):
    """The function ``name`` as a notebook cell defines it (only its ``def``, not the rest of the cell)."""
    import ast
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / path).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and f"def {name}(" in "".join(cell["source"]):
            tree = ast.parse("".join(cell["source"]))
            node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
            scope = {}
            exec(compile(ast.Module([node], []), path, "exec"), scope)
            return scope[name]
    raise AssertionError(f"no cell defines {name} in {path}")


def test_held_out_alpha_fails_the_notebooks_bug_and_passes_its_solution(capsys):
    buggy = _function_from_notebook("notebooks/exercises/04_out_of_domain.ipynb", "report_fusion")
    rejects(checks.check_held_out_alpha, buggy, "chosen on the test queries")
    fixed = _function_from_notebook("notebooks/solutions/04_out_of_domain.ipynb", "report_fusion_fixed")
    passes(checks.check_held_out_alpha, fixed, capsys)
    stub = _function_from_notebook("notebooks/exercises/04_out_of_domain.ipynb", "report_fusion_fixed")
    rejects(checks.check_held_out_alpha, stub, "returned None")


# ------------------------------------------------------------------ 08


def test_point_bytes(capsys):
    def point(n, dim, storage, on_disk, bits_per_number=1, originals=True, round_up=True, quantised_ram=True):
        numbers = n * dim
        if storage in ("float32", "float16"):
            size = numbers * (4 if storage == "float32" else 2)
            return {"ram": 0 if on_disk else size, "disk": size if on_disk else 0}
        if storage == "int8":
            copy = numbers
        else:
            copy = n * (math.ceil(dim / 8) if round_up else dim / 8) * bits_per_number
        keep = numbers * 4 if originals else 0
        return {"ram": (copy if quantised_ram else 0) + (0 if on_disk else keep), "disk": keep if on_disk else 0}

    passes(checks.check_point_bytes, point, capsys)
    from lateint.engines.qdrant import bytes_per_point

    passes(checks.check_point_bytes, lambda n, dim, s, d: bytes_per_point(n, dim, s, on_disk=d), capsys)
    rejects(checks.check_point_bytes, lambda n, dim, s, d: point(n, dim, s, False), "on_disk was ignored")
    rejects(checks.check_point_bytes, lambda n, dim, s, d: point(n, dim, s, d, originals=False), "originals were left out")
    rejects(checks.check_point_bytes, lambda n, dim, s, d: point(n, dim, s, d, quantised_ram=False), "quantised copy was left out")
    rejects(checks.check_point_bytes, lambda n, dim, s, d: point(n, dim, s, d, bits_per_number=8), "1 bit per number")
    rejects(checks.check_point_bytes, lambda n, dim, s, d: point(n, dim, s, d, round_up=False), "whole bytes")
    rejects(checks.check_point_bytes,
            lambda n, dim, s, d: point(n, dim, "float32" if s == "float16" else s, d), "2 bytes per number, not 4")
    rejects(checks.check_point_bytes, lambda n, dim, s, d: (1, 2), "expected a dict")


# ------------------------------------------------------------------ 01: predict, measure, explain


def _interval(deltas, n, seed, replace=True, of_means=True, level=95, centre=None):
    import numpy as np

    d = np.asarray(deltas, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n, len(d))) if replace else np.stack([rng.permutation(len(d)) for _ in range(n)])
    means = d[idx].mean(axis=1) if of_means else d
    cut = (100 - level) / 2
    lo, hi = np.percentile(means, [cut, 100 - cut])
    return (centre or np.mean)(d), lo, hi


def test_paired_interval(capsys):
    import numpy as np

    passes(checks.check_paired_interval, _interval, capsys)
    passes(checks.check_paired_interval, lambda d, n, s: _interval(d, n, s + 1), capsys)  # other resamples
    rejects(checks.check_paired_interval, lambda d, n, s: _interval(d, n, s, replace=False), "WITH replacement")
    rejects(checks.check_paired_interval, lambda d, n, s: _interval(d, n, s, of_means=False), "resampled MEANS")
    rejects(checks.check_paired_interval, lambda d, n, s: _interval(d, n, s, level=90), "90% interval")
    rejects(checks.check_paired_interval, lambda d, n, s: _interval(d, n, s, centre=np.median), "not their median")
    rejects(checks.check_paired_interval, lambda d, n, s: (0.0, 0.0), "three numbers")


def test_gap_verdict(capsys):
    def verdict(mean, lo, hi):
        return "MaxSim ahead" if lo > 0 else "pooled ahead" if hi < 0 else "cannot tell"

    passes(checks.check_gap_verdict, verdict, capsys)
    rejects(checks.check_gap_verdict, lambda m, lo, hi: "MaxSim ahead" if m > 0 else "pooled ahead", "mean's sign")
    rejects(checks.check_gap_verdict, lambda m, lo, hi: {"MaxSim ahead": "pooled ahead", "pooled ahead": "MaxSim ahead"}.get(
        verdict(m, lo, hi), "cannot tell"), "swapped")
    rejects(checks.check_gap_verdict, lambda m, lo, hi: "MaxSim ahead" if lo >= 0 else "pooled ahead" if hi <= 0 else "cannot tell",
            "mean's sign|expected 'cannot tell'")
    rejects(checks.check_gap_verdict, lambda m, lo, hi: "yes", "answer with one of")


def _gap(a, b, queries, n, seed, paired=True, missing_zero=True, sign=1):
    import numpy as np

    ids = queries if missing_zero else [q for q in queries if q in a and q in b]
    A = np.array([a.get(q, 0.0) for q in ids])
    B = np.array([b.get(q, 0.0) for q in ids])
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(ids), size=(n, len(ids)))
    means = (B - A)[draw].mean(axis=1) if paired else B[draw].mean(axis=1) - A[rng.integers(0, len(ids), size=(n, len(ids)))].mean(axis=1)
    lo, hi = np.percentile(sign * means, [2.5, 97.5])
    return sign * float((B - A).mean()), lo, hi


def test_paired_gap(capsys):
    passes(checks.check_paired_gap, _gap, capsys)
    passes(checks.check_paired_gap, lambda a, b, q, n, s: _gap(a, b, q, n, s + 5), capsys)  # other resamples
    rejects(checks.check_paired_gap, lambda a, b, q, n, s: _gap(a, b, q, n, s, paired=False), "resampled separately")
    rejects(checks.check_paired_gap, lambda a, b, q, n, s: _gap(a, b, q, n, s, missing_zero=False), "were dropped")
    rejects(checks.check_paired_gap, lambda a, b, q, n, s: _gap(a, b, q, n, s, sign=-1), "sign is reversed")
    rejects(checks.check_paired_gap, lambda a, b, q, n, s: 0.1, "three numbers")


def test_overlap_halves(capsys):
    import statistics

    from lateint.lessons.perquery import halves

    def at_median_up(d, o):
        m = statistics.median(o.values())
        up, low = [d[q] for q in d if o[q] >= m], [d[q] for q in d if o[q] < m]
        return sum(up) / len(up), sum(low) / len(low)

    passes(checks.check_overlap_halves, halves, capsys)
    rejects(checks.check_overlap_halves, lambda d, o: halves(d, o)[::-1], "swapped")
    rejects(checks.check_overlap_halves, lambda d, o: halves(d, d), "split by their delta")
    rejects(checks.check_overlap_halves, at_median_up, "AT the median")
    rejects(checks.check_overlap_halves, lambda d, o: tuple(sum(d[q] for q in d if (o[q] > statistics.median(o.values())) == up)
                                                           for up in (True, False)), "sums, not means")


def _share(best, reordered, n, seed, paired=True, part="ranking"):
    import numpy as np

    b, r = np.asarray(best), np.asarray(reordered)
    num, den = (r - b if part == "ranking" else 1 - r), 1 - b
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(b), size=(n, len(b)))
    j = i if paired else rng.integers(0, len(b), size=(n, len(b)))
    lo, hi = np.percentile(num[i].sum(axis=1) / den[j].sum(axis=1), [2.5, 97.5])
    return float(num.sum() / den.sum()), lo, hi


def test_ranking_share(capsys):
    import numpy as np

    def per_query_mean(best, reordered, n, seed):
        b, r = np.asarray(best), np.asarray(reordered)
        x = (r - b)[b < 1] / (1 - b)[b < 1]
        return (x.mean(), *np.percentile(x[np.random.default_rng(seed).integers(0, len(x), (n, len(x)))].mean(1), [2.5, 97.5]))

    passes(checks.check_ranking_share, _share, capsys)
    passes(checks.check_ranking_share, lambda b, r, n, s: _share(b, r, n, s + 2), capsys)
    rejects(checks.check_ranking_share, lambda b, r, n, s: _share(b, r, n, s, paired=False), "resampled separately")
    rejects(checks.check_ranking_share, lambda b, r, n, s: _share(b, r, n, s, part="never"), "NEVER retrieved")
    rejects(checks.check_ranking_share, per_query_mean, "mean of the per-query shares")


def test_gap_remedy(capsys):
    def remedy(share, lo, hi):
        return "re-rank the candidates" if lo > 0.5 else "retrieve more candidates" if hi < 0.5 else "cannot tell"

    passes(checks.check_gap_remedy, remedy, capsys)
    rejects(checks.check_gap_remedy, lambda s, lo, hi: "re-rank the candidates" if s > 0.5 else "retrieve more candidates",
            "followed the share alone")
    rejects(checks.check_gap_remedy, lambda s, lo, hi: {"re-rank the candidates": "retrieve more candidates",
                                                        "retrieve more candidates": "re-rank the candidates"}.get(
        remedy(s, lo, hi), "cannot tell"), "swapped")
    rejects(checks.check_gap_remedy, lambda s, lo, hi: "re-rank the candidates" if lo > 0 else "cannot tell", "not 0|swapped")
    rejects(checks.check_gap_remedy, lambda s, lo, hi: "yes", "answer with one of")

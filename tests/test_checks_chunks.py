"""Exercise 01b's checks (best-chunk scoring, documents not chunks) accept right answers and name the mistakes."""
import re

import pytest
import torch

from lateint import checks
from lateint.chunking import best_chunk, best_chunk_fast
from lateint.metrics import top_k


def passes(check, fn, capsys):
    check(fn)
    assert capsys.readouterr().out.startswith("✓ " + check.__name__)


def rejects(check, fn, diagnosis):
    with pytest.raises(checks.CheckFailed) as err:
        check(fn)
    assert re.search(diagnosis, str(err.value)), str(err.value)


def by_doc(scores, chunk_doc, n_docs, reduce):
    owner = torch.tensor(chunk_doc)
    return torch.stack([reduce(scores[:, owner == d]) for d in range(n_docs)], dim=1)


def test_best_chunk_scores(capsys):
    passes(checks.check_best_chunk_scores, lambda s, c, n: best_chunk(s, c, n)[0], capsys)
    passes(checks.check_best_chunk_scores, lambda s, c, n: best_chunk_fast(s, c, n)[0], capsys)
    passes(checks.check_best_chunk_scores, lambda s, c, n: by_doc(s, c, n, lambda x: x.max(1).values), capsys)
    rejects(checks.check_best_chunk_scores, lambda s, c, n: by_doc(s, c, n, lambda x: x.mean(1)), "MEAN")
    rejects(checks.check_best_chunk_scores, lambda s, c, n: by_doc(s, c, n, lambda x: x.sum(1)), "SUM")
    rejects(checks.check_best_chunk_scores, lambda s, c, n: by_doc(s, c, n, lambda x: x[:, 0]), "first chunk")
    rejects(checks.check_best_chunk_scores, lambda s, c, n: torch.zeros(s.shape[0], n).scatter_reduce(
        1, torch.tensor(c).expand(s.shape[0], -1), s, reduce="amax"), "started from 0")
    rejects(checks.check_best_chunk_scores, lambda s, c, n: best_chunk(s, c, n)[0].T.contiguous(), "shape|transposed")


def test_top_documents(capsys):
    def right(scores, chunk_doc, doc_ids, k):
        best = best_chunk(scores.unsqueeze(0), chunk_doc, len(doc_ids))[0]
        return [d for d, _ in top_k(best, doc_ids, k)[0]]

    def top_chunks(scores, chunk_doc, doc_ids, k):  # the bug: chunks ranked, mapped to their documents
        return [doc_ids[chunk_doc[c]] for c in torch.argsort(scores, descending=True)[:k].tolist()]

    passes(checks.check_top_documents, right, capsys)
    rejects(checks.check_top_documents, top_chunks, "top k CHUNKS came back")
    rejects(checks.check_top_documents, lambda s, c, ids, k: right(s, c, ids, k)[::-1], "wrong order")

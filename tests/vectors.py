"""Random token vectors for tests: documents of uneven length, each token L2-normalised."""
import torch


def ragged(n: int, lo: int, hi: int, dim: int, gen: torch.Generator) -> list[torch.Tensor]:
    """``n`` matrices ``(L_i, dim)`` of unit rows, ``L_i`` drawn uniformly from ``lo..hi`` (inclusive)."""
    return [
        torch.nn.functional.normalize(
            torch.randn(int(torch.randint(lo, hi + 1, (1,), generator=gen)), dim, generator=gen), dim=-1
        )
        for _ in range(n)
    ]

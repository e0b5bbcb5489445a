"""Which notebook cells print something that another CPU could change?

Runs nbval on the given notebooks with every encoder output multiplied by ``1 + s * noise``
(``s`` = ``--scale``, a relative 1e-5 by default: about ten times what CPU kernels change),
from an empty embedding cache, and prints the cells whose output then differs from the
committed one. Each such cell needs a coarser print or an ``expect`` check (see
notebooks/README.md). Figures: the list of fragile cells, and how many cells were checked.

    python benchmarks/fragility.py notebooks/05_cost_and_speed.ipynb
    python benchmarks/fragility.py notebooks/*.ipynb notebooks/*/*.ipynb --scale 1e-5
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Loaded by every Python process started with this folder on PYTHONPATH (pytest and the kernels).
SITECUSTOMIZE = '''
import os
if os.environ.get("LATEINT_PERTURB"):
    import torch
    import lateint.encoders as E
    _scale = float(os.environ["LATEINT_PERTURB"])
    _gen = torch.Generator().manual_seed(12345)
    _encode = E.Encoder._encode
    # defined as if inside lateint, so the encoder's warnings still point at the learner's cell
    _space = {"__name__": "lateint.perturbed", "_encode": _encode, "_scale": _scale, "_gen": _gen, "torch": torch}
    exec(
        "def _perturbed(self, *a, **k):\n"
        "    return [t * (1 + _scale * torch.randn(t.shape, generator=_gen)) for t in _encode(self, *a, **k)]",
        _space,
    )
    E.Encoder._encode = _space["_perturbed"]
'''


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--scale", type=float, default=1e-5, help="relative size of the perturbation (default 1e-5)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env = dict(os.environ, LATEINT_PERTURB=str(args.scale), LATEINT_CACHE=str(Path(tmp) / "cache"),
                   HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        cmd = [sys.executable, "-m", "pytest", *map(str, args.notebooks), "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", str(ROOT / "notebooks" / "sanitize.cfg"), "-q", "-p", "no:cacheprovider",
               "-o", "addopts="]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True).stdout
    fragile = sorted(set(re.findall(r"^FAILED (\S+::Cell \d+)", out, flags=re.M)))
    summary = re.findall(r"^=* ?(\d+ (?:passed|failed).*?)=*$", out, flags=re.M)
    print(f"perturbation: relative {args.scale:g} on every encoder output")
    print(f"cells checked: {summary[-1].strip() if summary else 'no summary (see pytest output)'}")
    print("fragile cells:" if fragile else "fragile cells: none")
    for cell in fragile:
        print("  ", cell)


if __name__ == "__main__":
    main()

"""Planted homework submissions for tests/test_grade.py, built from the committed notebooks.

Each planted submission is a solution notebook (``notebooks/solutions/``) or the handed-out
exercise notebook (``notebooks/exercises/``) with a cell's source swapped or a cell added,
written the way a student would: a planted mistake of a check, an infinite loop, a cell
that deletes files around it, a check cell edited to always pass, and a hostile class (a
file name that is not UTF-8, a link to the solutions, a fork bomb, a flood of the result
channel, a notebook that copies a classmate's work, writes outside its folder, talks to a
Unix socket, nests 1,200 folders or prints terminal escapes)... ``build(folder)`` writes
them and returns what the grader must say about every task.

To look at them, or to try the grader by hand::

    python tests/planted_submissions.py /tmp/planted
    python -m lateint.grade /tmp/planted --out /tmp/grades.csv --time-limit 20
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lateint.grade.report import clean

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

PASSED = ("passed", r"^✓ check_")
UNANSWERED = ("unanswered", r"returned None")


@dataclass
class Planted:
    """One submission: which notebook it starts from, what changes, and the verdict expected per task."""

    student: str
    exercise: str
    base: str  # "solutions" or "exercises"
    functions: dict[str, str] = field(default_factory=dict)  # function name -> the source of its new cell
    cells: list[tuple[str, str]] = field(default_factory=list)  # (insert after the cell defining this, source)
    checks: dict[str, str] = field(default_factory=dict)  # check name -> new source of the cell calling it
    expected: dict[str, tuple[str, str]] = field(default_factory=dict)  # task -> (verdict, message regex)
    notebook: tuple[str, str] | None = ("ran", "")  # (verdict, message regex) of the notebook's own row; None: any
    flat: bool = False  # written as <student>_<exercise>.ipynb in the top folder, not <student>/<exercise>.ipynb
    link: str | None = None  # written as a symbolic link to this path instead of a notebook

    @property
    def name(self) -> str:
        """The student as the grader reports them (a byte that is not UTF-8 as \\xNN)."""
        return clean(self.student)

    def build(self) -> dict:
        nb = json.loads((NOTEBOOKS / self.base / f"{self.exercise}.ipynb").read_text(encoding="utf-8"))
        for name, source in self.functions.items():
            _cell_with(nb, f"def {name}(")["source"] = source
        for check, source in self.checks.items():
            _cell_with(nb, f"checks.{check}(")["source"] = source
        for after, source in self.cells:
            index = nb["cells"].index(_cell_with(nb, after))
            nb["cells"].insert(
                index + 1,
                {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source},
            )
        return nb

    @property
    def path(self) -> str:
        return f"{self.student}_{self.exercise}.ipynb" if self.flat else f"{self.student}/{self.exercise}.ipynb"


def _cell_with(nb: dict, text: str) -> dict:
    found = [c for c in nb["cells"] if c["cell_type"] == "code" and text in "".join(c["source"])]
    assert len(found) == 1, f"expected one code cell containing {text!r}, found {len(found)}"
    return found[0]


# ----------------------------------------------------------------- exercise 02's planted mistakes
# check_maxsim's five mistakes, one per notebook; in the same notebooks, five of check_maxsim_batched's
# and both of check_best_matches' (the other notebooks keep the solution's best_matches).

PAIR = "def maxsim_pair(q, d):\n    sim = q @ d.T\n    return {}\n"
MAXSIM_MISTAKES = [
    ("sim.max(dim=0).values.sum()", r"wrong axis: for each DOCUMENT token"),
    ("sim.max(dim=1).values.mean()", r"best matches were averaged"),
    ("sim.sum()", r"all similarities were added up"),
    ("sim.max()", r"only the single best pair was kept"),
    (
        "(torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(d, dim=-1).T).max(dim=1).values.sum()",
        r"vectors were normalised \(cosine\)",
    ),
]
BATCHED = "def maxsim_batched(Q, D, q_mask, d_mask):\n    sim = torch.einsum('qid,njd->qnij', Q, D)\n    {}\n"
BATCHED_MISTAKES = [
    ("best = sim.max(dim=-1).values * q_mask[:, None, :]\n    return best.sum(-1)", r"document padding was not masked"),
    (
        "best = sim.masked_fill(~d_mask[None, :, None, :], float('-inf')).max(dim=-1).values\n    return best.sum(-1)",
        r"query padding was counted",
    ),
    ("return sim.max(dim=-1).values.sum(-1)", r"neither mask was applied"),
    (
        "best = (sim * d_mask[None, :, None, :]).max(dim=-1).values * q_mask[:, None, :]\n    return best.sum(-1)",
        r"given similarity 0 \(masked by multiplying\)",
    ),
    (
        "best = sim.masked_fill(~d_mask[None, :, None, :], float('-inf')).max(dim=-1).values\n"
        "    return (best * q_mask[:, None, :]).sum(-1).T",
        r"answer is transposed",
    ),
]
BEST = "def best_matches(q, d):\n    best = (q @ d.T).{}\n    return list(zip(best.indices.tolist(), best.values.tolist()))\n"
BEST_MISTAKES = [
    ("max(dim=0)", r"for each DOCUMENT token you found its best query token"),
    ("min(dim=1)", r"worst matches"),
]


def _mistakes() -> list[Planted]:
    planted = []
    for i, ((pair, pair_says), (batched, batched_says)) in enumerate(zip(MAXSIM_MISTAKES, BATCHED_MISTAKES)):
        p = Planted(
            f"mistake{i + 1}",
            "02_maxsim_by_hand",
            "solutions",
            functions={"maxsim_pair": PAIR.format(pair), "maxsim_batched": BATCHED.format(batched)},
            expected={"maxsim_pair": ("failed", pair_says), "maxsim_batched": ("failed", batched_says)},
            notebook=None,  # the check cells fail, and the code after them may too
        )
        if i < len(BEST_MISTAKES):
            p.functions["best_matches"] = BEST.format(BEST_MISTAKES[i][0])
            p.expected["best_matches"] = ("failed", BEST_MISTAKES[i][1])
        else:
            p.expected["best_matches"] = PASSED
        planted.append(p)
    return planted


# ----------------------------------------------------------------- notebooks that misbehave

ALL_PASS_02 = {"maxsim_pair": PASSED, "maxsim_batched": PASSED, "best_matches": PASSED}
ALL_PASS_00 = {"cosine_matrix": PASSED, "ndcg_at_10": PASSED}


def _vandal(submissions: Path, out: Path, separate_user: bool) -> str:
    """A cell that deletes and overwrites what it can reach; every attempt is in a try, so the notebook goes on.

    It aims at its own folder and the results file; with ``separate_user`` (the sandbox runs it
    as another user) also at the other submissions and the grader's own package.
    """
    targets = [str(out)]
    if separate_user:  # the test puts back the package if this ever succeeds
        targets += [str(submissions), "lateint"]
    return (
        "import importlib, os, shutil\n"
        "from pathlib import Path\n"
        "def wreck(path):\n"
        "    try:\n"
        "        if path.is_dir():\n"
        "            for p in sorted(path.rglob('*'), reverse=True):\n"
        "                wreck(p)\n"
        "            path.rmdir()\n"
        "        else:\n"
        "            path.write_text('wrecked')\n"
        "            path.unlink()\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
        "wreck(Path('.').resolve())  # its own folder: allowed, it is a copy\n"
        f"for target in {targets!r}:\n"
        "    path = Path(importlib.import_module(target).__file__).parent if target == 'lateint' else Path(target)\n"
        "    wreck(path)\n"
        "    try:\n"
        "        path.with_name(path.name + '.planted').write_text('planted')  # a new file next to it\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
    )


CHEAT = (
    "# my check cell, improved\n"
    "import lateint.checks\n"
    "lateint.checks.harness.run_check = lambda *args, **kwargs: print('✓ all good')\n"
    "lateint.checks.Suite.run = lambda self, fn: print('✓ all good')\n"
    "for name in dir(lateint.checks):\n"
    "    if name.startswith('check_'):\n"
    "        setattr(lateint.checks, name, lambda *args, **kwargs: print('✓ all good'))\n"
    "print('✓ check_maxsim: correct on all 7 hidden cases (axis, sum, negative similarities, single tokens).')\n"
)


MARK = "lateint-escaped"  # every file a hostile notebook tries to leave outside its sandbox has this in its name
AFTER_TASK_1 = "checks.check_maxsim("
AFTER_TASK_3 = "checks.check_best_matches("


def first_passes(verdict: str, says: str) -> dict[str, tuple[str, str]]:
    """A notebook stopped after task 1: task 1 was graded as the cells ran, the other two were not."""
    return {
        "maxsim_pair": PASSED,
        "maxsim_batched": (verdict, says + r".*before maxsim_batched could be checked"),
        "best_matches": (verdict, says + r".*before best_matches could be checked"),
    }


def _snoop(submissions: Path) -> str:
    """Read a classmate's notebook (or the solutions), run its function cells, copy it where others can read it."""
    sources = [str(submissions / "alice" / "02_maxsim_by_hand.ipynb"), str(NOTEBOOKS / "solutions" / "02_maxsim_by_hand.ipynb")]
    return (
        "import json, shutil\n"
        f"for source in {sources!r}:\n"
        "    try:\n"
        "        nb = json.load(open(source))\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
        "        continue\n"
        "    for cell in nb['cells']:\n"
        "        if cell['cell_type'] == 'code' and 'def ' in ''.join(cell['source']):\n"
        "            exec(''.join(cell['source']), globals())\n"
        "    for place in ['/tmp', '/var/tmp', '/dev/shm']:\n"
        "        try:\n"
        f"            shutil.copy(source, place + '/{MARK}-copied.ipynb')\n"
        "        except OSError as e:\n"
        "            print('refused:', e)\n"
    )


def _litter(decoy: Path) -> str:
    """Leave files in every world-writable place, fill /dev/shm (memory no limit counts), keep a SysV segment."""
    return (
        "import ctypes, os\n"
        f"for place in ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', {str(decoy)!r}]:\n"
        "    try:\n"
        f"        open(place + '/{MARK}-left', 'w').write('left behind')\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"segment = libc.shmget({SHM_KEY}, 1 << 20, 0o1666)  # IPC_CREAT | 0666: outlives its process\n"
        "print('shared memory segment', segment)\n"
        "for i in range(4):  # 4 x 100 MB: past the sandbox's 256 MiB for all it writes\n"
        f"    with open(f'/dev/shm/{MARK}-fill{{i}}', 'wb') as f:\n"
        "        for _ in range(100):\n"
        "            f.write(bytes(1_000_000))\n"
    )


SHM_KEY = 0x1A7E1A7E  # the System V shared memory key the litterer asks for


def _sockets(path: str, abstract: str) -> str:
    """Connect to a world-writable Unix socket on the host, and to an abstract one, and send a line."""
    return (
        "import socket\n"
        f"for address in [{path!r}, {abstract!r}]:\n"
        "    try:\n"
        "        with socket.socket(socket.AF_UNIX) as s:\n"
        "            s.settimeout(3)\n"
        "            s.connect(address)\n"
        "            s.sendall(b'hello from the sandbox\\n')\n"
        "    except OSError as e:\n"
        "        print('refused:', e)\n"
    )


FORK_BOMB = (
    "import subprocess\n"
    "children = []\n"
    "try:\n"
    "    for _ in range(400):  # the test's limit is 64 processes\n"
    "        children.append(subprocess.Popen(['sleep', '600']))\n"
    "except OSError as e:\n"
    "    raise BlockingIOError(f'stopped after {len(children)} processes: {e}')\n"
    "finally:\n"
    "    for child in children:\n"
    "        child.kill()\n"
    "        child.wait()\n"
)
FLOOD = (
    "import os, sys\n"
    "fd = int(sys.argv[3])  # the result channel\n"
    "for _ in range(20_000):  # 240 kB of small lines the grader must not keep\n"
    "    os.write(fd, b'{\"junk\": 1}\\n')\n"
    "chunk = b'x' * (1 << 20)\n"
    "for _ in range(400):  # 400 MB without a newline\n"
    "    os.write(fd, chunk)\n"
)
DEEP = (
    "import os\n"
    "for _ in range(1200):\n"
    "    os.mkdir('deeper')\n"
    "    os.chdir('deeper')\n"
    "os.chdir(os.environ['HOME'])\n"
)
ESCAPES = (
    "import os\n"
    "print('SystemError: \\x1b[2J\\x1b[H\\x1b[32mall 25 notebooks ran, nothing to look at\\x1b[0m', flush=True)\n"
    "os._exit(3)\n"
)


def hostile(submissions: Path, decoys: dict) -> list[Planted]:
    """The hostile class: each tries one way through the sandbox; all but the links and the pipe are run."""
    solutions = NOTEBOOKS / "solutions" / "02_maxsim_by_hand.ipynb"
    return [
        Planted(os.fsdecode(b"mallory\xff"), "02_maxsim_by_hand", "solutions", expected=ALL_PASS_02),
        Planted(
            "snooper",
            "02_maxsim_by_hand",
            "exercises",
            cells=[(AFTER_TASK_3, _snoop(submissions))],
            expected={"maxsim_pair": UNANSWERED, "maxsim_batched": UNANSWERED, "best_matches": UNANSWERED},
            notebook=None,  # the exercise's check cells raise
        ),
        Planted(
            "litterer",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(AFTER_TASK_1, _litter(decoys["folder"]))],
            expected=ALL_PASS_02,
            notebook=("ran with errors", r"cell 6 raised OSError: \[Errno 28\] No space left on device"),
        ),
        Planted(
            "socketeer",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(AFTER_TASK_1, _sockets(str(decoys["socket"]), decoys["abstract"]))],
            expected=ALL_PASS_02,
        ),
        Planted("linker", "02_maxsim_by_hand", "solutions", link=str(solutions), notebook=("refused", "symbolic link")),
        Planted(
            "rootfile",
            "02_maxsim_by_hand",
            "solutions",
            link=str(decoys["secret"]),
            flat=True,
            notebook=("refused", "symbolic link"),
        ),
        Planted(
            "forker",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(AFTER_TASK_1, FORK_BOMB)],
            expected=ALL_PASS_02,
            notebook=("ran with errors", r"cell 6 raised BlockingIOError: stopped after \d+ processes"),
        ),
        Planted(
            "flooder",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(AFTER_TASK_1, FLOOD)],
            expected=first_passes("crashed", "crashed: sent back more than the grader reads"),
            notebook=("crashed", r"sent back more than the grader reads"),
        ),
        Planted("nester", "02_maxsim_by_hand", "solutions", cells=[(AFTER_TASK_1, DEEP)], expected=ALL_PASS_02),
        Planted(
            "=2+3",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(AFTER_TASK_1, ESCAPES)],
            expected=first_passes("crashed", r"crashed: SystemError: \\x1b\[2J\\x1b\[H\\x1b\[32mall 25"),
            notebook=("crashed", r"SystemError: \\x1b\[2J"),
        ),
    ]


def planted(submissions: Path, out: Path, separate_user: bool = True) -> list[Planted]:
    """Every planted submission. ``submissions`` and ``out`` are where the vandal aims."""
    after_task_1 = AFTER_TASK_1
    return [
        Planted("alice", "02_maxsim_by_hand", "solutions", expected=ALL_PASS_02),
        Planted("alice", "00_setup", "solutions", expected=ALL_PASS_00),
        Planted(
            "bob",
            "00_setup",
            "solutions",
            functions={
                "cosine_matrix": "def cosine_matrix(queries, docs):\n    return queries @ docs.T\n",
                "ndcg_at_10": "def ndcg_at_10(ranked_ids, rels):\n    return 0.5\n",
            },
            expected={"cosine_matrix": ("failed", r"not cosines"), "ndcg_at_10": ("failed", r"got 0\.5000, expected")},
            flat=True,
        ),
        Planted(
            "unanswered",
            "02_maxsim_by_hand",
            "exercises",
            expected={"maxsim_pair": UNANSWERED, "maxsim_batched": UNANSWERED, "best_matches": UNANSWERED},
        ),
        *_mistakes(),
        Planted(
            "crasher",
            "02_maxsim_by_hand",
            "solutions",
            functions={
                "maxsim_pair": "def maxsim_pair(q, d):\n    return (q @ d).sum()  # (Lq, dim) @ (Ld, dim)\n",
                "maxsim_batched": "def maxsim_batched(Q, D, q_mask, d_mask):\n    hog = bytearray(2**44)\n",
            },
            expected={
                "maxsim_pair": ("crashed", r"raised RuntimeError: .*It was raised in maxsim_pair, line 2"),
                "maxsim_batched": ("crashed", r"raised MemoryError"),
                "best_matches": PASSED,
            },
            notebook=("ran with errors", ""),
        ),
        Planted(
            "aborter",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(after_task_1, "import os\nos.abort()\n")],
            expected=first_passes("crashed", r"crashed: killed by SIGABRT .* while running cell 6"),
            notebook=("crashed", r"killed by SIGABRT"),
        ),
        Planted(
            "looper",
            "02_maxsim_by_hand",
            "solutions",
            # never returns; it waits rather than spins, so the 40 s until the wall-clock limit kills it
            # cost the test machine nothing (the limit is wall time: tested the same either way)
            cells=[(after_task_1, "import time\nwhile True:\n    time.sleep(1)\n")],
            expected=first_passes("timed out", r"timed out after \d+ s while running cell 6"),
            notebook=("timed out", r"timed out after"),
        ),
        Planted(
            "vandal",
            "02_maxsim_by_hand",
            "solutions",
            cells=[("import torch", _vandal(submissions, out, separate_user))],
            expected=ALL_PASS_02,
        ),
        Planted(
            "cheater",
            "02_maxsim_by_hand",
            "solutions",
            functions={
                "maxsim_pair": PAIR.format(MAXSIM_MISTAKES[0][0]),
                "maxsim_batched": BATCHED.format(BATCHED_MISTAKES[2][0]),
            },
            checks={"check_maxsim": CHEAT, "check_maxsim_batched": "checks.check_maxsim_batched(maxsim_batched)\n"},
            expected={
                "maxsim_pair": ("failed", MAXSIM_MISTAKES[0][1]),
                "maxsim_batched": ("failed", BATCHED_MISTAKES[2][1]),
                "best_matches": PASSED,
            },
            notebook=None,  # its "use it" code after the faked check goes on with a wrong function
        ),
        Planted(
            "syntax",
            "02_maxsim_by_hand",
            "solutions",
            functions={"maxsim_pair": "def maxsim_pair(q, d)\n    return (q @ d.T).max(dim=1).values.sum()\n"},
            expected={
                "maxsim_pair": ("unanswered", r"cell 4, which defines it, raised SyntaxError"),
                "maxsim_batched": PASSED,
                "best_matches": PASSED,
            },
            notebook=("ran with errors", r"cell 4 \(defines maxsim_pair\) raised SyntaxError"),
        ),
        Planted(
            "printer",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(after_task_1, "for _ in range(200):\n    print('spam ' * 20_000)\n")],
            expected=ALL_PASS_02,
            notebook=("ran", r"printed 20\.\d MB"),
        ),
        Planted(
            "exiter",
            "02_maxsim_by_hand",
            "solutions",
            cells=[(after_task_1, "import sys\nsys.exit('bye')\n")],
            functions={"best_matches": "import sys\n\ndef best_matches(q, d):\n    sys.exit(0)\n"},
            expected={
                "maxsim_pair": PASSED,
                "maxsim_batched": PASSED,
                "best_matches": ("crashed", r"raised SystemExit: 0"),
            },
            notebook=("ran with errors", r"cell 6 raised SystemExit: bye"),
        ),
    ]


def build(folder: Path, out: Path, separate_user: bool = True, decoys: dict | None = None) -> list[Planted]:
    """Write every planted submission under ``folder``; return them (with their expectations).

    With ``decoys`` (paths of a world-writable "folder", a Unix "socket" and an "abstract"
    socket name the test listens on, a root-only "secret" file), the hostile class too, and
    a named pipe called ``pipe_02_maxsim_by_hand.ipynb`` (reading it would block for ever).
    """
    submissions = planted(folder, out, separate_user) + (hostile(folder, decoys) if decoys else [])
    for p in submissions:
        path = folder / p.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if p.link:
            path.symlink_to(p.link)
        else:
            path.write_text(json.dumps(p.build(), indent=1, ensure_ascii=False), encoding="utf-8")
    if decoys:
        os.mkfifo(folder / "pipe_02_maxsim_by_hand.ipynb")
    return submissions


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for p in build(folder, folder.parent / "grades.csv"):
        print(folder / p.path)

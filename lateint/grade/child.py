"""Inside the sandbox: run ONE submitted notebook, then call its functions on the hidden inputs.

Started by :mod:`lateint.grade.sandbox` as
``python -I -m lateint.grade.child NOTEBOOK INPUTS FD LIMITS``, in a fresh process (or by
:mod:`lateint.grade.jail`, once it has set up the sandbox's view of the files). It

0. lowers its own resource limits to LIMITS (JSON of :class:`lateint.grade.sandbox.Limits`),
   soft and hard, so the student's code cannot raise them again;
1. reads INPUTS, a JSON list of ``{"check", "function", "cases": [args, ...]}`` with each
   case's arguments encoded by :func:`lateint.grade.codec.encode` (``fd:N``: from that file
   descriptor), and NOTEBOOK, before any student code runs;
2. runs every code cell of NOTEBOOK in order in IPython's shell (the one a Jupyter
   kernel runs cells in, so ``%magics`` and ``!commands`` work), carrying on after a
   cell raises, as ``jupyter nbconvert --execute --allow-errors`` would;
3. after each cell, calls every task's function that this cell defined (or redefined) on
   each case, so a later cell that hangs or kills the process does not take the answers
   with it; after the last cell, calls again each function that changed since, or whose
   earlier answers raised;
4. writes one JSON line per event to file descriptor FD: ``{"cell": i}`` when cell i
   starts, ``{"cell_error": i, "error": "..."}``, ``{"checking": true}`` after the last
   cell, ``{"task": check, "defined": bool}`` before each round of a task's answers,
   ``{"task": check, "case": k, "answer": <encoded>}`` or ``{..., "raised": [type, message, where]}``,
   and ``{"done": true}`` at the end. The grader keeps each task's latest round.

Nothing here decides a verdict: the student's code shares this process and could
change anything in it, so the grader judges the answers in its own process
(:mod:`lateint.grade.judge`). Whatever the student does here can only change the
answers sent back, which is no more than their function could do by returning them.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from typing import Any

from .codec import decode, encode, opaque

MAX_ANSWER_CHARS = 16_000_000  # an answer bigger than this (encoded) is sent as a placeholder


def _describe(e: BaseException) -> list[str]:
    """[type name, message, where]: where = the last line of the traceback inside the notebook's code."""
    cells = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("<")]  # <ipython-input-...>
    where = f"in {cells[-1].name}, line {cells[-1].lineno}" if cells else ""
    try:
        message = str(e)[:500]
    except Exception:  # noqa: BLE001 (a student's exception's __str__ may raise anything)
        message = "<unprintable message>"
    return [type(e).__name__, message, where]


def limit_resources(limits: dict) -> None:
    """Address space, file size and CPU time limits for this process and all it starts (soft = hard)."""
    mib = 1024 * 1024
    cpu = int(2 * limits["seconds"]) + 60  # a backstop: the grader kills the child at `seconds` of wall time
    for kind, value in (
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_FSIZE, limits["file_mb"] * mib),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, limits["processes"]),  # counted per user: 0 when it is the grader's own
    ):
        if kind == resource.RLIMIT_NPROC and not value:
            continue
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def run_below_init(fd: int) -> None:
    """Return in a child process when this one is PID 1 (a fresh PID namespace); exit as that child did.

    Signals a PID 1 sends itself are ignored, so a notebook's ``os.kill(os.getpid(), 9)`` or
    ``os.abort()`` would not end it as they end a kernel. The notebook runs one level down,
    and this process reports its end: the child's exit code, or 128 + the signal that killed it.
    """
    if os.getpid() != 1:
        return
    pid = os.fork()
    if pid == 0:
        return
    os.close(fd)  # the channel's end is then the child's alone: closed when it dies
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


def main(notebook: str, inputs: str, fd: int, limits: dict) -> None:
    limit_resources(limits)
    if inputs.startswith("fd:"):  # from the jail's first stage (lateint.grade.jail): read, then closed
        with os.fdopen(int(inputs[3:]), "rb") as f:
            tasks = json.load(f)
    else:
        with open(inputs, encoding="utf-8") as f:
            tasks = json.load(f)
    with open(notebook, "rb") as f:
        source = f.read()
    run_below_init(fd)
    os.set_inheritable(fd, False)  # a process the notebook starts must not hold the channel open after it ends
    channel = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
    write, dumps = channel.write, json.dumps  # bound before the student's code could replace them

    def send(**event: Any) -> None:
        write(dumps(event) + "\n")

    cells = json.loads(source).get("cells", [])
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    answered: dict[str, tuple[Any, bool]] = {}  # check -> (the function answered, whether all its answers came)

    def answer(task: dict) -> None:
        fn = shell.user_ns.get(task["function"])
        send(task=task["check"], defined=fn is not None)
        answered[task["check"]] = (fn, False)
        if fn is None:
            return
        clean = True
        for k, args in enumerate(task["cases"]):
            args = decode(args)  # a fresh copy per call: the function may change its inputs in place
            try:
                line = encode(fn(*args))
            except BaseException as e:  # noqa: BLE001 (sys.exit and KeyboardInterrupt too: all are the answer)
                send(task=task["check"], case=k, raised=_describe(e))
                clean = False
                continue
            if len(line) > MAX_ANSWER_CHARS:
                line = encode(opaque("answer too large", f"<an answer of {len(line) / 1e6:.0f} MB, not sent back>"))
            send(task=task["check"], case=k, answer=line)
        answered[task["check"]] = (fn, clean)

    def changed(task: dict) -> bool:
        fn, clean = answered.get(task["check"], (None, False))
        return shell.user_ns.get(task["function"]) is not fn or not clean

    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code = cell.get("source", "")
        code = "".join(code) if isinstance(code, list) else str(code)
        send(cell=index)
        result = shell.run_cell(code, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            kind, message, _ = _describe(error)
            send(cell_error=index, error=f"{kind}: {message}"[:300])
        for task in tasks:  # graded as the notebook goes: a function this cell (re)defined
            fn = shell.user_ns.get(task["function"])
            if callable(fn) and fn is not answered.get(task["check"], (None,))[0]:
                answer(task)

    send(checking=True)
    for task in tasks:
        if changed(task) or task["check"] not in answered:
            answer(task)
    send(done=True)
    for stream in (channel, sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 (the notebook may have closed or replaced them)
            pass
    os._exit(0)  # skip atexit handlers and threads the notebook may have left behind


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]))

"""Run one untrusted notebook in a sandbox and collect what it sends back.

Each submission runs in a fresh process (:mod:`lateint.grade.child`), with

* a wall-clock time limit, enforced here by killing the process and everything it started;
* limits set in the child before any student code runs: address space (``RLIMIT_AS``,
  so a runaway allocation raises MemoryError), the size of any file written, CPU time,
  and the number of processes (``RLIMIT_NPROC``: a fork bomb stops there);
* what it prints read through a pipe and cut to its first and last few kilobytes, and what
  it sends back on its result channel read in bounded chunks, only the well-formed events
  kept, at most ``Limits.channel_mb`` MiB in all, so no notebook costs the grader memory;
* where the system allows (Linux, util-linux ``unshare``), new network, PID, IPC and mount
  namespaces set up by :mod:`lateint.grade.jail`: no network and no abstract Unix sockets,
  nothing it starts outlives it, the host's Unix sockets, the other submissions, the
  solutions and the grades hidden, every file system read-only, and one private ``tmpfs``
  of ``Limits.disk_mb`` MiB for its folder, ``/tmp``, ``/var/tmp`` and ``/dev/shm``;
* when the grader runs as root: a user id of its own (no account, no groups), so it
  cannot read what is not readable by all, nor touch another notebook's processes.

:func:`isolation` says which of these the machine allows, and what is left out
(:attr:`Isolation.missing`).
"""

from __future__ import annotations

import collections
import functools
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Isolation", "Limits", "Outcome", "host_sockets", "isolation", "remove_tree", "run_notebook"]

FRESH_UIDS = (2_000_000_000, 100_000_000)  # (first, count): a notebook runs as a user id drawn from these
MAX_CELL_ERRORS = 50  # cell errors kept per notebook (the report names the first five)


@dataclass(frozen=True)
class Limits:
    """Per-notebook limits.

    ``seconds`` of wall-clock time; ``memory_mb`` MiB of address space; ``output_kb`` kB of
    printed output kept; ``file_mb`` MiB per file written; ``processes`` processes and
    threads at once; ``disk_mb`` MiB written in all, temporary files and ``/dev/shm``
    included (where the sandbox has its own tmpfs); ``channel_mb`` MiB sent back to the grader.
    """

    seconds: float = 120.0
    memory_mb: int = 4096
    output_kb: int = 64
    file_mb: int = 256
    processes: int = 128
    disk_mb: int = 512
    channel_mb: int = 64

    def __post_init__(self):
        for name in ("seconds", "memory_mb", "output_kb", "file_mb", "processes", "disk_mb", "channel_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Isolation:
    """How children are isolated.

    ``prefix``: the command that wraps the child; ``uid``/``gid``: a fixed user it runs as
    (None: see ``jail``); ``jail``: "root" (namespaces set up by :mod:`.jail`, then a fresh
    user id per notebook), "user" (the same inside a user namespace, as the grader's own
    user) or None; ``description`` and ``missing``: what it does and does not, in words.
    """

    prefix: tuple[str, ...]
    uid: int | None
    gid: int | None
    description: str
    jail: str | None = None
    missing: str = ""

    @property
    def separate_user(self) -> bool:
        """Whether notebooks run as a user other than the grader's."""
        return self.uid is not None or self.jail == "root"


@dataclass
class Outcome:
    """What came back from one run.

    ``events`` are the child's messages (see :mod:`lateint.grade.child`), as kept by the
    grader: the cell it last started, the cells that raised, each task's latest round of
    answers, ``done``; ``at_cell`` is the cell it was running when it stopped (None once it
    checks its functions after the last cell); ``output`` is what it printed, cut to its first
    and last ``Limits.output_kb / 2`` kB; ``printed`` the number of bytes it printed in all.
    """

    events: list[dict] = field(default_factory=list)
    output: str = ""
    printed: int = 0
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    at_cell: int | None = None

    @property
    def finished(self) -> bool:
        return any(e.get("done") is True for e in self.events)


def _child_command(*args: str, jail: bool = False) -> list[str]:
    """The child's command line; with ``jail``, through the jail's first stage (a script: it starts fast)."""
    start = [str(Path(__file__).with_name("jail.py"))] if jail else ["-m", "lateint.grade.child"]
    return [sys.executable, "-I", "-B", *start, *args]


NOT_ROOT = "without root, notebooks run as the grader's own user and can read every file that user can read"


@functools.cache
def isolation() -> Isolation:
    """The strongest isolation this machine allows, checked once by running a child with it.

    Raises RuntimeError when the grader runs as root but the sandbox's user cannot
    import lateint (the virtual environment or the repository is not readable by all).
    """
    unshare = shutil.which("unshare")
    setpriv = shutil.which("setpriv")
    spaces = ("--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc")
    root = os.geteuid() == 0
    # killed with the grader: without it, a killed grader would leave its sandboxes running to their CPU limit
    orphan = (setpriv, "--pdeathsig", "KILL") if setpriv and _has_pdeathsig(setpriv) else ()
    candidates: list[Isolation] = []
    if unshare and setpriv and root:
        candidates.append(
            Isolation(
                (*orphan, unshare, *spaces),
                None,
                None,
                "no network, own PID/IPC/mount namespaces, every file system read-only, private /tmp, /var/tmp and "
                "/dev/shm, host Unix sockets, other submissions, solutions and grades hidden, "
                "runs as a user id of its own",
                jail="root",
                missing="files readable by all users on this machine stay readable (only the paths named above "
                "are hidden): keep other private material in folders only root can read (chmod 700)",
            )
        )
    nobody = _nobody() if root and setpriv else None
    if nobody is not None:
        drop = (setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--no-new-privs")
        # e.g. a container without the right to make namespaces: give it no network itself (docker --network none)
        candidates.append(
            Isolation(
                drop,
                nobody.pw_uid,
                nobody.pw_gid,
                "network allowed, runs as user nobody",
                missing="NO namespaces: network allowed, /tmp, /var/tmp, /dev/shm and Unix sockets shared with "
                "the host, files readable by all (other submissions included) readable, no limit on bytes "
                "written beyond the size of each file; the process limit is shared by every process of nobody",
            )
        )
    if unshare and not root:
        candidates.append(
            Isolation(
                (*orphan, unshare, "--user", "--map-root-user", *spaces),
                None,
                None,
                "no network, own PID/IPC/mount namespaces, every file system read-only, private /tmp, /var/tmp and "
                "/dev/shm, host Unix sockets, other submissions, solutions and grades hidden, "
                "runs as the grader's own user",
                jail="user",
                missing=NOT_ROOT + " (but the paths hidden above), though they can change nothing outside the "
                "sandbox; no limit on processes",
            )
        )
        candidates.append(
            Isolation(
                (unshare, "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"),
                None,
                None,
                "no network, own PID namespace, runs as the grader's user",
                missing=NOT_ROOT + " (the other submissions and the solutions included) and change every file "
                "that user can, /tmp included; no limit on "
                "processes or on bytes written beyond the size of each file",
            )
        )
    candidates.append(
        Isolation(
            (),
            None,
            None,
            "NOT isolated: network allowed, runs as the grader's user",
            missing=NOT_ROOT + " (the other submissions and the solutions included), change every file that "
            "user can and use the network; no limit on "
            "processes or on bytes written beyond the size of each file",
        )
    )
    failures = []
    for candidate in candidates:
        if candidate.jail:
            uid = _fresh_uid() if candidate.jail == "root" else None
            jail = {"hide": [], "disk_mb": 64, "uid": uid, "gid": uid}
            command = [*candidate.prefix, *_child_command("--probe", json.dumps(jail), jail=True)]
        else:
            command = [*candidate.prefix, sys.executable, "-I", "-c", "import lateint.grade.child"]
        try:
            probe = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                cwd="/",
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            failures.append(f"{candidate.description}: {e}")
            continue
        if probe.returncode == 0:
            return candidate
        if candidate.separate_user and "Permission denied" in probe.stderr and "mount" not in probe.stderr:
            raise RuntimeError(
                f"the sandbox's user cannot import lateint with {sys.executable}:\n{probe.stderr[-800:]}\n"
                "Make the virtual environment and the repository readable by all users "
                "(chmod -R a+rX on both), then grade again."
            )
        failures.append(f"{candidate.description}: {probe.stderr.strip()[-300:]}")
    raise RuntimeError(f"cannot start a grading process with {sys.executable}:\n" + "\n".join(failures))


def _has_pdeathsig(setpriv: str) -> bool:
    """Whether this setpriv can set the parent-death signal (util-linux 2.33 and later)."""
    try:
        helped = subprocess.run([setpriv, "--help"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--pdeathsig" in helped.stdout


def _fresh_uid() -> int:
    """A user id no account has: each notebook its own, so none shares processes or files with another."""
    first, count = FRESH_UIDS
    while True:
        uid = first + secrets.randbelow(count)
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def _nobody() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def _environment(work: str) -> dict[str, str]:
    """A small, offline environment: nothing of the grader's own (tokens, proxies) leaks in."""
    from lateint.data import default_data_dir

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": work,
        "TMPDIR": work,
        "LANG": "C.UTF-8",
        "LATEINT_DATA": str(default_data_dir()),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": f"{work}/.hf",
        "XDG_CACHE_HOME": f"{work}/.cache",
        "IPYTHONDIR": f"{work}/.ipython",
        "MPLCONFIGDIR": f"{work}/.matplotlib",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def host_sockets() -> list[str]:
    """The paths of the Unix sockets bound on this host (its network namespace), from /proc/net/unix."""
    try:
        with open("/proc/net/unix", "rb") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    paths = {os.fsdecode(line.split(maxsplit=7)[7]) for line in lines if len(line.split(maxsplit=7)) == 8}
    return sorted(p for p in paths if p.startswith("/"))  # "@name": abstract, out of reach in a new netns


def run_notebook(
    notebook: bytes,
    inputs: str,
    limits: Limits = Limits(),
    how: Isolation | None = None,
    hide: tuple[str, ...] = (),
) -> Outcome:
    """Run the notebook (its file's bytes) in a sandbox, with the hidden ``inputs`` (JSON, see child).

    ``hide``: paths the notebook must not see (where the sandbox has a mount namespace);
    the host's Unix sockets are hidden too. Returns when the child has sent everything,
    has died, or has run out of time; in every case nothing it started is left running
    and its folder is deleted.
    """
    how = how or isolation()
    cases = {t["check"]: len(t["cases"]) for t in json.loads(inputs)}
    tmp = Path(tempfile.mkdtemp(prefix="lateint-grade-"))  # 0700: only the grader's user can read it
    try:
        (tmp / "submission.ipynb").write_bytes(notebook)
        (tmp / "inputs.json").write_text(inputs, encoding="utf-8")
        args = [str(tmp / "submission.ipynb"), str(tmp / "inputs.json")]
        if how.jail:
            from .jail import WORK

            uid = _fresh_uid() if how.jail == "root" else None
            jail = {"hide": [*hide, *host_sockets()], "disk_mb": limits.disk_mb, "uid": uid, "gid": uid,
                    "pdeathsig": "--pdeathsig" in how.prefix}  # fmt: skip
            return _run(how, limits, args, json.dumps(jail), "/", WORK, cases)
        work = tmp / secrets.token_hex(8)  # a name other sandboxes cannot guess: tmp is not listable by them
        work.mkdir()
        (work / "submission.ipynb").write_bytes(notebook)
        if how.uid is not None:
            os.chmod(tmp, 0o711)
            os.chmod(tmp / "inputs.json", 0o644)
            os.chmod(tmp / "submission.ipynb", 0o644)
            for path in (work, work / "submission.ipynb"):
                os.chown(path, how.uid, how.gid)
        args[0] = str(work / "submission.ipynb")
        return _run(how, limits, args, None, work, str(work), cases)
    finally:
        remove_tree(tmp)


def remove_tree(path: str | Path) -> None:
    """Delete a folder and everything in it, however deep, without following links or recursing in Python.

    Walks down one folder at a time through file descriptors (so neither the depth nor the
    length of the paths matters), making folders writable where a notebook made them read-only.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    names: list[str] = []  # the folders walked down into, from ``path``
    try:
        while True:
            os.chmod(fd, 0o700)
            below = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        below = entry.name
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if below is not None:
                try:
                    child = os.open(below, flags, dir_fd=fd)
                except PermissionError:  # a folder made unreadable (mode 000): its parent is ours to chmod it
                    os.chmod(below, 0o700, dir_fd=fd)
                    child = os.open(below, flags, dir_fd=fd)
                os.close(fd)
                fd, _ = child, names.append(below)
            elif names:
                parent = os.open("..", flags, dir_fd=fd)
                os.close(fd)
                fd = parent
                os.rmdir(names.pop(), dir_fd=fd)
            else:
                break
    finally:
        os.close(fd)
    os.rmdir(path)


def _run(
    how: Isolation, limits: Limits, args: list[str], jail: str | None, cwd, work: str, cases: dict[str, int]
) -> Outcome:
    outcome = Outcome()
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [
                *how.prefix,
                *_child_command(
                    *args, str(write_fd), json.dumps(_child_limits(limits, how)), *([jail] if jail else []), jail=bool(jail)
                ),
            ],
            cwd=cwd,
            env=_environment(work),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            start_new_session=True,  # its own process group: killed as one below
        )
    finally:
        os.close(write_fd)
    stop = threading.Event()  # set when the child says it is done, or closes its channel, or sends too much
    channel = _Channel(cases, limits.channel_mb * 1024 * 1024)
    readers = [
        threading.Thread(target=channel.read, args=(read_fd, outcome, stop), daemon=True),
        threading.Thread(target=_read_output, args=(proc.stdout, outcome, limits.output_kb * 1024), daemon=True),
    ]
    for reader in readers:
        reader.start()
    outcome.timed_out = not stop.wait(limits.seconds)
    if not outcome.timed_out and not channel.overflow:
        try:
            proc.wait(timeout=5)  # after "done" the child exits at once; after a crash it is gone already
        except subprocess.TimeoutExpired:
            pass
    _kill(proc)
    outcome.returncode = proc.returncode
    outcome.seconds = time.monotonic() - start
    for reader in readers:
        reader.join(timeout=5)  # a process that escaped the kill could hold the pipes open: do not wait for it
    channel.close(outcome)
    return outcome


def _child_limits(limits: Limits, how: Isolation) -> dict:
    """The limits the child sets; no process limit where the child shares its user with the grader (it counts
    every process of that user, the instructor's own included)."""
    return dict(limits.__dict__, processes=limits.processes if how.separate_user else 0)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (and, with unshare, its PID namespace), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class _Channel:
    """The child's result channel, read in chunks of at most 64 kB, at most ``cap`` bytes in all.

    Only the events the judge uses are kept, each checked for shape: the cell running, up
    to ``MAX_CELL_ERRORS`` cell errors (cut to 300 characters), per known task its latest
    round (a ``defined`` line starts a round) with one answer per hidden case, and ``done``.
    So what the grader holds is bounded by ``cap``, whatever the notebook writes there.
    """

    def __init__(self, cases: dict[str, int], cap: int):
        self.cases, self.cap = cases, cap
        self.cell: int | None = None
        self.errors: list[dict] = []
        self.rounds: dict[str, tuple[dict, dict[int, dict]]] = {}
        self.done = self.overflow = False
        self.lock = threading.Lock()

    def read(self, fd: int, outcome: Outcome, stop: threading.Event) -> None:
        pending, total = bytearray(), 0
        try:
            while not self.done and (chunk := os.read(fd, 65536)):
                total += len(chunk)
                if total > self.cap:
                    self.overflow = True
                    break
                if b"\n" not in chunk:  # only the new chunk is searched: a long line costs its length once
                    pending += chunk
                    continue
                first, *lines, rest = chunk.split(b"\n")
                for line in (bytes(pending + first), *lines):
                    self.accept(line)
                    if self.done:
                        break
                pending = bytearray(rest)
        finally:
            os.close(fd)
            stop.set()

    def accept(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            return
        if not isinstance(event, dict):
            return
        with self.lock:
            if isinstance(event.get("cell"), int) and len(event) == 1:
                self.cell = event["cell"]
            elif event.get("checking") is True:
                self.cell = None
            elif isinstance(event.get("cell_error"), int) and len(self.errors) < MAX_CELL_ERRORS:
                self.errors.append({"cell_error": event["cell_error"], "error": str(event.get("error", "?"))[:300]})
            elif event.get("done") is True:
                self.done = True
            elif event.get("task") in self.cases:
                self.answer(event)

    def answer(self, event: dict) -> None:
        check = event["task"]
        if isinstance(event.get("defined"), bool):
            self.rounds[check] = ({"task": check, "defined": event["defined"]}, {})
            return
        k = event.get("case")
        if check not in self.rounds or not isinstance(k, int) or not 0 <= k < self.cases[check]:
            return
        answers = self.rounds[check][1]
        if k in answers:
            return
        if isinstance(event.get("answer"), str):
            answers[k] = {"task": check, "case": k, "answer": event["answer"]}
        elif "raised" in event:
            raised = event["raised"] if isinstance(event["raised"], list) else [event["raised"]]
            answers[k] = {"task": check, "case": k, "raised": [str(x)[:500] for x in raised[:3]]}

    def close(self, outcome: Outcome) -> None:
        with self.lock:
            events: list[dict] = [*self.errors]
            for header, answers in self.rounds.values():
                events += [header, *(answers[k] for k in sorted(answers))]
            if self.overflow:
                events.append({"overflow": True})
            elif self.done:
                events.append({"done": True})
            outcome.events, outcome.at_cell = events, self.cell


def _read_output(stream, outcome: Outcome, keep: int) -> None:
    """Keep the first and last ``keep / 2`` bytes of what the child prints; count the rest."""
    head = bytearray()
    tail: collections.deque[bytes] = collections.deque()
    tail_size = 0
    with stream:
        while chunk := stream.read1(65536):
            outcome.printed += len(chunk)
            room = keep // 2 - len(head)
            if room > 0:
                head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                tail.append(chunk)
                tail_size += len(chunk)
                while tail_size - len(tail[0]) >= keep // 2:
                    tail_size -= len(tail.popleft())
    text = head.decode("utf-8", "replace")
    rest = b"".join(tail)[-(keep // 2) :]
    if outcome.printed > len(head) + len(rest):
        text += f"\n[... {outcome.printed - len(head) - len(rest):,} bytes cut ...]\n"
    outcome.output = text + rest.decode("utf-8", "replace")

"""Run one untrusted notebook in a sandbox and collect what it sends back.

Each submission runs in a fresh process (:mod:`lateint.grade.child`) in its own temporary
folder, with

* a wall-clock time limit, enforced here by killing the process and everything it started;
* limits set in the child before any student code runs: address space (``RLIMIT_AS``,
  so a runaway allocation raises MemoryError), the size of any file written, CPU time;
* what it prints read through a pipe and cut to its first and last few kilobytes, so a
  notebook that prints megabytes costs neither memory nor disk;
* where the system allows (Linux, util-linux ``unshare``): no network (its own empty
  network namespace) and its own PID namespace, so nothing it starts outlives it;
* when the grader runs as root: the child runs as the unprivileged user ``nobody``, in a
  folder only that user can write, so it cannot change the grader's files, the other
  submissions or the results. Run as another user, the child has that user's rights:
  grade as root inside a container, or in a throwaway account (see the exercises README).

:func:`isolation` says which of these the machine allows.
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

__all__ = ["Isolation", "Limits", "Outcome", "isolation", "run_notebook"]

MAX_EVENT_CHARS = 256_000_000  # more than this from one notebook's channel: stop reading it, kill it


@dataclass(frozen=True)
class Limits:
    """Per-notebook limits: seconds of wall-clock time, MiB of address space, kB of output kept, MiB per file."""

    seconds: float = 120.0
    memory_mb: int = 4096
    output_kb: int = 64
    file_mb: int = 256

    def __post_init__(self):
        for name in ("seconds", "memory_mb", "output_kb", "file_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Isolation:
    """How children are isolated: the command prefix that does it, the uid they run as, in words."""

    prefix: tuple[str, ...]
    uid: int | None  # None: the grader's own user
    gid: int | None
    description: str


@dataclass
class Outcome:
    """What came back from one run.

    ``events`` are the child's messages in order (see :mod:`lateint.grade.child`);
    ``output`` is what it printed, cut to its first and last ``Limits.output_kb / 2`` kB;
    ``printed`` the number of bytes it printed in all.
    """

    events: list[dict] = field(default_factory=list)
    output: str = ""
    printed: int = 0
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return any(e.get("done") is True for e in self.events)


def _child_command(limits: Limits, *paths: str) -> list[str]:
    return [sys.executable, "-I", "-B", "-m", "lateint.grade.child", *paths, json.dumps(limits.__dict__)]


@functools.cache
def isolation() -> Isolation:
    """The strongest isolation this machine allows, checked once by running a child with it.

    Raises RuntimeError when the grader runs as root but the user ``nobody`` cannot
    import lateint (the virtual environment or the repository is not readable by all).
    """
    unshare = shutil.which("unshare")
    setpriv = shutil.which("setpriv")
    namespaces = (unshare, "--net", "--pid", "--fork", "--kill-child", "--mount-proc") if unshare else ()
    candidates: list[Isolation] = []
    nobody = _nobody() if os.geteuid() == 0 and setpriv else None
    if nobody is not None:
        drop = (setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--no-new-privs")
        if namespaces:
            candidates.append(
                Isolation(
                    (*namespaces, *drop),
                    nobody.pw_uid,
                    nobody.pw_gid,
                    "no network, own PID namespace, runs as user nobody",
                )
            )
        # e.g. a container without the right to make namespaces: give it no network itself (docker --network none)
        candidates.append(Isolation(drop, nobody.pw_uid, nobody.pw_gid, "network allowed, runs as user nobody"))
    if namespaces:
        mapped = namespaces if os.geteuid() == 0 else (unshare, "--user", "--map-root-user", *namespaces[1:])
        candidates.append(Isolation(mapped, None, None, "no network, own PID namespace, runs as the grader's user"))
    candidates.append(Isolation((), None, None, "NOT isolated: network allowed, runs as the grader's user"))
    failures = []
    for candidate in candidates:
        try:
            probe = subprocess.run(
                [*candidate.prefix, sys.executable, "-I", "-c", "import lateint.grade.child"],
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
        if candidate.uid is not None and "Permission denied" in probe.stderr:
            raise RuntimeError(
                f"the sandbox user 'nobody' cannot import lateint with {sys.executable}:\n{probe.stderr[-800:]}\n"
                "Make the virtual environment and the repository readable by all users "
                "(chmod -R a+rX on both), then grade again."
            )
        failures.append(f"{candidate.description}: {probe.stderr.strip()[-300:]}")
    raise RuntimeError(f"cannot start a grading process with {sys.executable}:\n" + "\n".join(failures))


def _nobody() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def _environment(work: Path) -> dict[str, str]:
    """A small, offline environment: nothing of the grader's own (tokens, proxies) leaks in."""
    from lateint.data import default_data_dir

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "LATEINT_DATA": str(default_data_dir()),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(work / ".hf"),
        "XDG_CACHE_HOME": str(work / ".cache"),
        "IPYTHONDIR": str(work / ".ipython"),
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def run_notebook(notebook: bytes, inputs: str, limits: Limits = Limits(), how: Isolation | None = None) -> Outcome:
    """Run the notebook (its file's bytes) in a sandbox, with the hidden ``inputs`` (JSON, see child).

    Returns when the child has sent everything, has died, or has run out of time;
    in every case nothing it started is left running and its folder is deleted.
    """
    how = how or isolation()
    tmp = Path(tempfile.mkdtemp(prefix="lateint-grade-"))
    try:
        work = tmp / secrets.token_hex(8)  # a name other sandboxes cannot guess: tmp is not listable by them
        work.mkdir()
        (work / "submission.ipynb").write_bytes(notebook)
        (tmp / "inputs.json").write_text(inputs, encoding="utf-8")
        if how.uid is not None:
            os.chmod(tmp, 0o711)
            os.chmod(tmp / "inputs.json", 0o644)
            for path in (work, work / "submission.ipynb"):
                os.chown(path, how.uid, how.gid)
        return _run(how, limits, work, tmp / "inputs.json")
    finally:
        shutil.rmtree(tmp, onerror=_force_remove)


def _force_remove(function, path, _exc_info) -> None:
    """rmtree's error handler: a notebook may have made its files read-only; make them writable and retry."""
    try:
        os.chmod(Path(path).parent, 0o700)
        os.chmod(path, 0o700)
        function(path)
    except OSError:
        pass


def _run(how: Isolation, limits: Limits, work: Path, inputs: Path) -> Outcome:
    outcome = Outcome()
    read_fd, write_fd = os.pipe()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [*how.prefix, *_child_command(limits, str(work / "submission.ipynb"), str(inputs), str(write_fd))],
            cwd=work,
            env=_environment(work),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            start_new_session=True,  # its own process group: killed as one below
        )
    finally:
        os.close(write_fd)
    stop = threading.Event()  # set when the child says it is done, or closes its channel
    readers = [
        threading.Thread(target=_read_events, args=(os.fdopen(read_fd, "rb"), outcome, stop), daemon=True),
        threading.Thread(target=_read_output, args=(proc.stdout, outcome, limits.output_kb * 1024), daemon=True),
    ]
    for reader in readers:
        reader.start()
    outcome.timed_out = not stop.wait(limits.seconds)
    if not outcome.timed_out:
        try:
            proc.wait(timeout=5)  # after "done" the child exits at once; after a crash it is gone already
        except subprocess.TimeoutExpired:
            pass
    _kill(proc)
    outcome.returncode = proc.returncode
    outcome.seconds = time.monotonic() - start
    for reader in readers:
        reader.join(timeout=5)  # a process that escaped the kill could hold the pipes open: do not wait for it
    return outcome


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (and, with unshare, its PID namespace), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _read_events(channel, outcome: Outcome, stop: threading.Event) -> None:
    read = 0
    with channel:
        for line in channel:
            read += len(line)
            if read > MAX_EVENT_CHARS:
                outcome.events.append({"overflow": True})
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                outcome.events.append(event)
                if event.get("done") is True:
                    break
    stop.set()


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

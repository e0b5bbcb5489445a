"""Inside the sandbox's fresh namespaces, before any student code: a private view of the files, then no rights.

The grader starts this file as a script (``python -I -B jail.py NOTEBOOK INPUTS FD LIMITS
JAIL``: standard library only, so it starts fast) in new mount, network, PID and IPC
namespaces (util-linux ``unshare``), as root (or as the root of a new user namespace).
It reads NOTEBOOK and INPUTS, then :func:`enter`, in that mount namespace only, in this order,

1. hides what the notebook must not read: the other submissions, the solutions, the
   grades being written (an empty read-only folder over each folder, ``/dev/null`` over
   each file) and every Unix socket the host listens on (``/dev/null`` over it, so
   ``connect`` is refused; abstract sockets are out of reach in the new network namespace);
2. makes every mounted file system read-only, so no file outside the sandbox can change,
   whatever its permissions (world-writable folders such as ``/run/lock`` included);
3. mounts one private ``tmpfs`` of ``disk_mb`` MiB on ``/tmp`` and binds folders of it on
   ``/var/tmp`` and ``/dev/shm``: everything the notebook writes, temporary files and shared
   memory included, counts against that one size and vanishes with the namespace;
4. then :func:`main` starts :mod:`lateint.grade.child` in the same process (``execv``), as
   JAIL's ``uid`` and ``gid`` if it names one, through :func:`drop` (no supplementary
   groups, no capabilities, ``no_new_privs``), on a copy of NOTEBOOK in its folder, with
   the hidden INPUTS in a memory file descriptor (no file the notebook could read).

Nothing here is reachable by the student's code, which starts after that.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys

__all__ = ["WORK", "enter"]

WORK = "/tmp/sandbox"  # the notebook's folder (its HOME and TMPDIR), in the private tmpfs

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
KEPT = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024, "nodiratime": 2048,
        "relatime": 1 << 21}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    code = _libc.mount(*(os.fsencode(s) if s is not None else None for s in (source, target, fstype)),
                       ctypes.c_ulong(flags), data.encode() if data else None)  # fmt: skip
    if code != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot mount {target!r} in the sandbox: {os.strerror(errno)}")


def _mounts() -> list[tuple[str, list[str]]]:
    """(mount point, per-mount options) of every mount this process sees, from /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            point = fields[4].decode("unicode_escape").encode("latin-1")  # \040 and the like in the path
            found.append((os.fsdecode(point), fields[5].decode().split(",")))
    return found


def hide(paths: list[str]) -> None:
    """An empty read-only folder over each folder, /dev/null over anything else; missing paths are skipped."""
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
        elif os.path.lexists(path) and not os.path.islink(path):
            _mount("/dev/null", path, None, MS_BIND)


def read_only() -> None:
    """Remount every mount read-only (keeping its nosuid/nodev/noexec/atime flags)."""
    for point, options in _mounts():
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | sum(KEPT[o] for o in set(options) if o in KEPT)
        _mount(None, point, None, flags)


def private_temp(disk_mb: int) -> None:
    """One tmpfs of ``disk_mb`` MiB on /tmp, with /var/tmp and /dev/shm as folders of it; WORK made in it."""
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_mb}m,mode=1777")
    for target in ("/var/tmp", "/dev/shm"):
        if os.path.isdir(target):
            inner = "/tmp/.sandbox" + target.replace("/", "-")
            os.mkdir(inner)
            os.chmod(inner, 0o1777)
            _mount(inner, target, None, MS_BIND)
    os.mkdir(WORK, 0o700)


def drop(jail: dict) -> list[str]:
    """The command prefix that starts a program as the jail's ``uid``/``gid`` for good (nothing without a uid).

    util-linux ``setpriv``: no supplementary groups, no capabilities, and ``no_new_privs`` so
    no set-uid program gives them back. (It keeps its rights until it starts the program, so
    the program itself may sit in a folder only root can enter, as a pyenv Python in /root.)
    With ``pdeathsig``, the program is killed when the process that started the sandbox dies
    (changing user clears what ``unshare --kill-child`` set).
    """
    if jail.get("uid") is None:
        return []
    uid, gid = jail["uid"], jail["gid"]
    setpriv = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    return [*setpriv, "--no-new-privs", *(["--pdeathsig", "KILL"] if jail.get("pdeathsig") else [])]


def enter(jail: dict) -> None:
    """Steps 1-3 of the module docstring; ``jail`` is ``{"hide": [...], "disk_mb": int, "uid": int | None, "gid": ...}``."""
    hide(jail["hide"])
    read_only()
    private_temp(jail["disk_mb"])
    if jail.get("uid") is not None:
        os.chown(WORK, jail["uid"], jail["gid"])
    os.chdir(WORK)


def main(notebook: str, inputs: str, fd: str, limits: str, jail: dict) -> None:
    """Step 4 of the module docstring: read the files, enter the jail, start the child as its user."""
    with open(inputs, "rb") as f:
        hidden = f.read()
    with open(notebook, "rb") as f:
        source = f.read()
    enter(jail)
    with open(os.path.join(WORK, "submission.ipynb"), "wb") as f:
        f.write(source)
    memory = os.memfd_create("inputs", 0)
    os.set_inheritable(memory, True)  # the child reads it, then closes it
    os.write(memory, hidden)
    os.lseek(memory, 0, os.SEEK_SET)
    command = [*drop(jail), sys.executable, "-I", "-B", "-m", "lateint.grade.child",
               os.path.join(WORK, "submission.ipynb"), f"fd:{memory}", fd, limits]  # fmt: skip
    os.execv(command[0], command)


def probe(jail: dict) -> None:
    """Enter the jail as for a notebook, then import, as its user, what a notebook's run needs (exit 1 if not)."""
    enter(jail)
    code = "import IPython, lateint.grade.child, lateint.grade.codec"  # codec: torch, numpy, safetensors
    command = [*drop(jail), sys.executable, "-I", "-B", "-c", code]
    os.execv(command[0], command)


if __name__ == "__main__":
    if sys.argv[1] == "--probe":
        probe(json.loads(sys.argv[2]))
    else:
        main(*sys.argv[1:5], json.loads(sys.argv[5]))

"""Writing files so that a crash never leaves a partial one, with the modes any new file gets.

Every file lateint writes (a saved index, an embedding-cache entry, the trained model, a grades CSV)
goes through :func:`write_atomically`: the content is written to a temporary file in the same folder,
given the permissions a plain ``open`` would give (0o666 minus the umask: ``tempfile`` alone would
leave it readable by its owner only), then renamed over the target in one step (``os.replace``). A
reader sees the old file or the new one, never half of one; on any error the temporary file is removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["current_umask", "permissions_from_umask", "write_atomically", "write_folder_atomically"]


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def permissions_from_umask(path: str | os.PathLike) -> None:
    """Give ``path`` (a file, or a folder and everything in it) the modes a plain ``open`` / ``mkdir``
    would: 0o666 / 0o777 minus the umask."""
    umask = current_umask()
    path = Path(path)
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        p.chmod((0o777 if p.is_dir() else 0o666) & ~umask)


def write_atomically(path: str | os.PathLike, write: Callable[[Path], object], *, mode: int | None = None,
                     durable: bool = False) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then move it to ``path`` in one step.

    ``write`` receives the temporary file's path (it exists, empty) and writes the whole content, e.g.
    ``lambda tmp: safetensors.torch.save_file(tensors, tmp)``. The folder is created if needed. The file
    gets ``mode`` (e.g. 0o600 for a private file), else the umask's modes. ``durable=True`` also flushes
    it to the disk before the rename, so it survives a power cut or a killed machine, not only a crash.
    Returns ``path``; if ``write`` raises (or the process is interrupted), ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if mode is None:
            permissions_from_umask(tmp)
        else:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_folder_atomically(path: str | os.PathLike, fill: Callable[[Path], object]) -> Path:
    """:func:`write_atomically` for a folder: ``fill(tmp)`` builds it in a temporary folder beside ``path``.

    The folder and everything in it get the umask's modes; then it takes ``path``'s place (an existing
    ``path`` is moved aside first and removed after, so a reader never sees half of either). On any
    error the temporary folder is removed and ``path`` is left as it was. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        fill(tmp)
        permissions_from_umask(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():  # left behind by a run that crashed between the two renames below
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path

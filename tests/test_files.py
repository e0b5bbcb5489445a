"""lateint.files: one atomic write for every file the library writes, with the modes of a plain open()."""
import os
import stat

import pytest
import torch

from lateint import MaxSimIndex, load_index
from lateint.cache import cached_encode
from lateint.files import write_atomically


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_file_appears_whole_with_the_umasks_modes(tmp_path, umask_022):
    out = write_atomically(tmp_path / "sub" / "a.txt", lambda tmp: tmp.write_text("hello"))
    assert out.read_text() == "hello" and mode(out) == 0o644
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def half_then_crash(tmp):
        tmp.write_text("half of the new")
        raise KeyboardInterrupt  # even an interrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, half_then_crash)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_index_and_cache_files_are_readable_like_any_new_file(tmp_path, umask_022, encoder):
    index = MaxSimIndex(["a", "b"], [torch.randn(3, 4), torch.randn(2, 4)])
    path = index.save(tmp_path / "index.safetensors")
    assert mode(path) == 0o644 and load_index(path).doc_ids == ["a", "b"]
    cached_encode(encoder, ["one short text"], "documents", path=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").rglob("*.safetensors")
    assert mode(entry) == 0o644


def test_a_folder_is_swapped_in_whole_with_the_umasks_modes(tmp_path, umask_022):
    from lateint.files import write_folder_atomically

    target = tmp_path / "site"
    write_folder_atomically(target, lambda d: (d / "a.html").write_text("one"))
    assert (target / "a.html").read_text() == "one" and mode(target) == 0o755 and mode(target / "a.html") == 0o644

    def half_then_crash(d):
        (d / "a.html").write_text("two")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder_atomically(target, half_then_crash)
    assert (target / "a.html").read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    write_folder_atomically(target, lambda d: (d / "b.html").write_text("new"))
    assert sorted(p.name for p in target.iterdir()) == ["b.html"] and sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_private_durable_file_keeps_its_mode(tmp_path, umask_022):
    out = write_atomically(tmp_path / "ledger.jsonl", lambda tmp: tmp.write_text("{}\n"), mode=0o600, durable=True)
    assert out.read_text() == "{}\n" and mode(out) == 0o600

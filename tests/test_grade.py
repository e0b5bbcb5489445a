"""Grading a folder of homework: the right verdict for every planted submission, and nothing outside touched.

The planted submissions (tests/planted_submissions.py) are built from the committed
solution and exercise notebooks: the reference solutions, each of check_maxsim's planted
mistakes, an unanswered notebook, ones that crash, abort, loop forever, delete files
around them, edit their check cell to always pass, have a syntax error, print megabytes
or call sys.exit, and a hostile class (issue 22: a file name that is not UTF-8, links to
the solutions and to a root-only file, a named pipe, a fork bomb, a flood of the result
channel, a notebook that copies a classmate's work, one that litters /tmp, /var/tmp and
/dev/shm, one that talks to Unix sockets, 1,200 nested folders, terminal escapes and a
formula as a name). They are graded once (the module fixture, about two minutes on 2
free cores); the tests then read every row, and what is outside the sandbox.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import planted_submissions
import pytest
import torch

import lateint
from lateint import checks
from lateint.grade import Limits, grade, summary
from lateint.grade.__main__ import main as grade_cli
from lateint.grade.codec import Opaque, decode, encode
from lateint.grade.exercises import (
    Task,
    default_exercises_folder,
    find_submissions,
    load_exercises,
)
from lateint.grade.judge import hidden_inputs, judge_task, suite
from lateint.grade.ledger import ledger_path
from lateint.grade.report import clean
from lateint.grade.sandbox import FRESH_UIDS, isolation, remove_tree, run_notebook
from lateint.similarity import explain, maxsim

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GRADER = Path(lateint.__file__).resolve().parent  # the grader's own files: the whole lateint package
# the looping notebook costs 40 s; the others need well under that; the litterer, forker and flooder meet the rest
LIMITS = Limits(seconds=40, memory_mb=3072, processes=64, disk_mb=256, channel_mb=16)
OUTSIDE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # the places a notebook could write to on most hosts


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def digest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def undo_vandal(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Should the sandbox ever fail, put back what the vandal wrecked (only that: not edits made meanwhile)."""
    for name, data in before.items():
        if after.get(name, b"wrecked") == b"wrecked":
            (GRADER / name).parent.mkdir(parents=True, exist_ok=True)
            (GRADER / name).write_bytes(data)
    for name in set(after) - set(before):
        if after[name] == b"planted":
            (GRADER / name).unlink()


class Listener:
    """A world-writable Unix socket (a path, or an abstract name) that records whatever reaches it."""

    def __init__(self, address: str):
        self.address, self.heard = address, []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(address)
        if not address.startswith("\0"):
            os.chmod(address, 0o777)
        self.server.listen()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(3)
                try:
                    self.heard.append(connection.recv(1000))
                except OSError:
                    self.heard.append(b"<connected>")


def left_outside() -> list[str]:
    """Files in the world-writable places outside the sandbox that a planted notebook made (by name or owner)."""
    sandbox_users = {65534, *range(FRESH_UIDS[0], FRESH_UIDS[0] + FRESH_UIDS[1])}
    found = []
    for place in OUTSIDE:
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            try:
                owner = entry.stat(follow_symlinks=False).st_uid
            except OSError:
                continue
            if planted_submissions.MARK in entry.name or owner in sandbox_users:
                found.append(entry.path)
    return found


def shared_memory_keys() -> set[int]:
    with open("/proc/sysvipc/shm") as f:
        return {int(line.split()[0]) for line in f.readlines()[1:]}


class PeakMemory:
    """The grader's resident memory, sampled every 20 ms while it grades: its peak above where it started."""

    def __enter__(self):
        self.start = self.peak = self.rss()
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    def sample(self):
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def graded():
    """Grade the planted folder once: rows, planted, folder, CSV path, files before/after, what reached outside."""
    root = Path(tempfile.mkdtemp(prefix="lateint-planted-"))
    os.chmod(root, 0o755)  # readable by the sandbox's user, so only write protection stops the vandal
    submissions, out = root / "submissions", root / "grades.csv"
    decoy = root / "decoy"  # a world-writable folder of the host, with a file in it
    decoy.mkdir(mode=0o777)
    os.chmod(decoy, 0o777)
    (decoy / "notes.txt").write_text("the host's own file")
    os.chmod(decoy / "notes.txt", 0o666)
    secret = root / "secret.txt"  # a file only root may read
    secret.write_text("root only")
    os.chmod(secret, 0o600)
    listeners = [Listener(str(root / "host.sock")), Listener(f"\0{planted_submissions.MARK}-{secrets.token_hex(4)}")]
    decoys = {"folder": decoy, "socket": root / "host.sock", "abstract": listeners[1].address, "secret": secret}
    # Without a separate user for the sandbox (not root), a notebook can change what the grader's user
    # can: the vandal then aims only at its own folder and the CSV (written at the end, so still safe).
    separate = isolation().separate_user
    planted = planted_submissions.build(submissions, out, separate_user=separate, decoys=decoys)
    for path in [submissions, *submissions.rglob("*")]:  # the default permissions of a collected folder
        if not path.is_symlink() and not stat.S_ISFIFO(path.lstat().st_mode):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    grader_before, submissions_before = snapshot(GRADER), snapshot(submissions)
    decoy_before, keys_before, outside_before = snapshot(decoy), shared_memory_keys(), set(left_outside())
    try:
        with PeakMemory() as memory:
            rows = grade(submissions, out, limits=LIMITS, jobs=2, progress=False)
    finally:
        grader_after = snapshot(GRADER)
        undo_vandal(grader_before, grader_after)
    for listener in listeners:
        listener.server.close()
    yield {
        "rows": rows,
        "planted": planted,
        "submissions": submissions,
        "out": out,
        "grader": (digest(grader_before), digest(grader_after)),
        "submitted": (digest(submissions_before), digest(snapshot(submissions))),
        "decoy": (digest(decoy_before), digest(snapshot(decoy))),
        "outside": sorted(set(left_outside()) - outside_before),
        "shm": shared_memory_keys() - keys_before,
        "heard": [heard for listener in listeners for heard in listener.heard],
        "memory": memory.peak - memory.start,
        "separate": separate,
    }
    shutil.rmtree(root)


def row(rows, student, exercise, task):
    found = [r for r in rows if (r.student, r.exercise, r.task) == (student, exercise, task)]
    assert len(found) == 1, f"expected one row for {student}/{exercise}/{task}, got {found}"
    return found[0]


# ----------------------------------------------------------------- the planted folder


@pytest.mark.slow(seconds=140)
def test_every_task_gets_its_expected_verdict(graded):
    wrong = []
    for p in graded["planted"]:
        for task, (verdict, says) in p.expected.items():
            r = row(graded["rows"], p.name, p.exercise, task)
            if r.verdict != verdict or not re.search(says, r.message, re.DOTALL):
                wrong.append(
                    f"{p.student}/{p.exercise}/{task}: expected {verdict} /{says}/, got {r.verdict}: {r.message}"
                )
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_every_notebook_gets_its_expected_row(graded):
    wrong = []
    for p in graded["planted"]:
        r = row(graded["rows"], p.name, "" if p.link else p.exercise, "notebook")
        assert r.file == clean(str(graded["submissions"] / p.path))
        if p.notebook is not None and (r.verdict != p.notebook[0] or not re.search(p.notebook[1], r.message)):
            wrong.append(f"{p.student}/{p.exercise}: expected {p.notebook}, got {r.verdict}: {r.message}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_every_mistake_of_check_maxsim_is_planted_and_named(graded):
    diagnoses = {d for case in checks.suite_of(checks.check_maxsim).cases for d in case.mistakes}
    named = {row(graded["rows"], f"mistake{i}", "02_maxsim_by_hand", "maxsim_pair").message for i in range(1, 6)}
    assert all(any(d in message for message in named) for d in diagnoses), (diagnoses, named)


@pytest.mark.slow
def test_nothing_outside_the_sandbox_changed(graded):
    before, after = graded["grader"]
    assert after == before, "the grader's files changed: " + str(sorted(set(before.items()) ^ set(after.items()))[:5])
    before, after = graded["submitted"]
    assert after == before, "a submission changed or a file appeared in the submissions folder"
    before, after = graded["decoy"]
    assert after == before, "a notebook wrote into a world-writable folder of the host"
    assert graded["outside"] == [], f"files left outside the sandbox in {OUTSIDE}"
    assert graded["shm"] == set(), "a System V shared memory segment outlived its notebook"


@pytest.mark.slow
def test_no_notebook_reached_a_unix_socket(graded):
    """The socketeer connects to a world-writable socket on the host and to an abstract one: neither hears it."""
    assert graded["heard"] == []


@pytest.mark.slow
def test_no_notebook_read_a_classmate_or_the_solutions(graded):
    """The snooper runs alice's (0644) function cells, or the solutions': it must not find them (see expected)."""
    rows = [r for r in graded["rows"] if r.student == "snooper" and r.task != "notebook"]
    assert [r.verdict for r in rows] == ["unanswered"] * 3 + ["0/5"]


@pytest.mark.slow
def test_the_grader_holds_little_of_what_a_notebook_sends(graded):
    """The flooder writes 400 MB to the result channel: the grader reads at most channel_mb of it, in chunks."""
    assert graded["memory"] < 200 * 2**20, f"the grader's memory grew by {graded['memory'] / 2**20:.0f} MiB"


@pytest.mark.slow
def test_links_and_pipes_are_refused_not_followed(graded):
    rows = {r.student: r for r in graded["rows"] if r.task == "notebook" and r.verdict == "refused"}
    assert set(rows) == {"linker", "rootfile", "pipe"}, rows
    assert "symbolic link" in rows["linker"].message and "02_maxsim_by_hand.ipynb" in rows["linker"].message
    assert rows["pipe"].message == "refused: not a regular file"
    assert not any("root only" in r.message for r in graded["rows"])


@pytest.mark.slow
def test_what_the_instructor_reads_is_escaped(graded):
    """No terminal escape in the rows or the summary; a name that looks like a formula is text in the CSV."""
    text = summary(graded["rows"])
    assert "\x1b" not in text and all("\x1b" not in v for r in graded["rows"] for v in dataclasses.astuple(r))
    assert "=2+3/02_maxsim_by_hand.ipynb: crashed: crashed: SystemError: \\x1b[2J" in text
    with open(graded["out"], newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert ["'=2+3", "02_maxsim_by_hand", "notebook"] == table[[r[0] for r in table].index("'=2+3")][:3]
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in table for cell in line)
    assert "mallory\\xff" in {line[0] for line in table}  # the byte that was not UTF-8, written as \xff


@pytest.mark.slow
def test_the_csv_holds_the_rows_and_a_total_per_student(graded):
    with open(graded["out"], newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    safe = lambda cell: "'" + cell if cell.startswith(("=", "+", "-", "@")) else cell
    assert [tuple(r.values()) for r in table] == [
        tuple(map(safe, (r.student, r.exercise, r.task, r.verdict, r.message, r.file))) for r in graded["rows"]
    ]
    totals = {r["student"]: r for r in table if r["task"] == "total"}
    assert set(totals) == {safe(p.name) for p in graded["planted"]} | {"pipe"}
    assert totals["alice"]["verdict"] == "5/5" and totals["alice"]["message"] == ""
    assert totals["bob"]["verdict"] == "0/5" and "no submission for 02_maxsim_by_hand" in totals["bob"]["message"]
    assert totals["syntax"]["verdict"] == "2/5"  # maxsim_batched and best_matches pass
    text = summary(graded["rows"])
    assert re.search(r"^alice\s+2/2\s+3/3\s+5/5$", text, re.MULTILINE), text
    assert "looper/02_maxsim_by_hand.ipynb: timed out" in text
    assert totals["looper"]["verdict"] == "1/5"  # its first task was graded before the loop began
    assert totals["mallory\\xff"]["verdict"] == "3/5"


# ----------------------------------------------------------------- the command line, without running notebooks


def test_command_line_reports_unreadable_and_unidentified_notebooks(tmp_path, capsys):
    (tmp_path / "subs" / "dan").mkdir(parents=True)
    (tmp_path / "subs" / "dan" / "homework.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    (tmp_path / "subs" / "erin_02_maxsim_by_hand.ipynb").write_text("{ not json")
    out = tmp_path / "grades.csv"
    assert grade_cli([str(tmp_path / "subs"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "unidentified" in printed and "unreadable" in printed and f"wrote {out}" in printed
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["student"], r["task"], r["verdict"]) for r in rows] == [
        ("dan", "notebook", "unidentified"),
        ("erin", "notebook", "unreadable"),  # the student, from the file name
        ("dan", "total", "0/0"),
        ("erin", "total", "0/0"),
    ]


def test_command_line_errors_are_plain(tmp_path, capsys):
    assert grade_cli([str(tmp_path / "missing"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert grade_cli([str(tmp_path / "empty"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no .ipynb files" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
    with pytest.raises(ValueError, match="seconds must be > 0"):
        Limits(seconds=0)


# ----------------------------------------------------------------- exercises and submissions


def test_exercise_metadata_lists_exactly_the_check_cells():
    """Each exercise (and solution) notebook's metadata names the tasks its check cells grade, in order."""
    for kind in ("exercises", "solutions"):
        for path in sorted((NOTEBOOKS / kind).glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            calls = [
                {"function": fn, "check": check}
                for cell in nb["cells"]
                for check, fn in re.findall(r"checks\.(check_\w+)\((\w+)\)", "".join(cell["source"]))
            ]
            assert nb["metadata"]["lateint"] == {"exercise": path.stem, "tasks": calls}, path
    assert set(load_exercises()) == {p.stem for p in default_exercises_folder().glob("*.ipynb")}


def test_bad_exercise_metadata_is_refused(tmp_path):
    nb = json.loads((NOTEBOOKS / "exercises" / "00_setup.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["lateint"]["tasks"][0]["check"] = "check_nothing"
    (tmp_path / "00_setup.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="'check_nothing', which is not in lateint.checks"):
        load_exercises(tmp_path)
    del nb["metadata"]["lateint"]
    (tmp_path / "00_setup.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="no notebook metadata 'lateint'"):
        load_exercises(tmp_path)
    with pytest.raises(FileNotFoundError, match="no exercise notebooks"):
        load_exercises(tmp_path / "nowhere")


def test_submissions_are_recognised_by_metadata_or_file_name(tmp_path):
    exercises = load_exercises()
    nb = json.loads((NOTEBOOKS / "exercises" / "02_maxsim_by_hand.ipynb").read_text(encoding="utf-8"))
    plain = dict(nb, metadata={})  # metadata lost: only the file name tells
    files = {
        "frank/whatever.ipynb": nb,  # a sub-folder per student; metadata names the exercise
        "frank/.ipynb_checkpoints/whatever-checkpoint.ipynb": nb,  # skipped
        "Grace_02_maxsim_by_hand.ipynb": plain,
        "Copy of 02-maxsim-by-hand (1).ipynb": plain,
        "heidi.ipynb": plain,
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(content))
    found = {(s.student, s.exercise.name if s.exercise else None) for s in find_submissions(tmp_path, exercises)}
    assert found == {
        ("frank", "02_maxsim_by_hand"),
        ("Grace", "02_maxsim_by_hand"),
        ("Copy of 02-maxsim-by-hand (1)", "02_maxsim_by_hand"),
        ("heidi", None),
    }


# ----------------------------------------------------------------- judging plain data


def test_suite_of_runs_a_check_apart_from_the_function(capsys):
    suite = checks.suite_of(checks.check_maxsim)
    assert suite.check == "check_maxsim" and len(suite.cases) == 7
    suite.run(maxsim)
    assert capsys.readouterr().out.startswith("✓ check_maxsim: correct on all 7 hidden cases")
    with pytest.raises(checks.CheckFailed, match="wrong axis"):
        suite.run(lambda q, d: (q @ d.T).max(dim=0).values.sum())
    with pytest.raises(TypeError, match="not one of the checks"):
        checks.suite_of(print)


def same(a, b) -> bool:
    if isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    return a == b


RUN_THE_MODEL = {"check_embed_pooled", "check_needle_curve", "check_encode_queries_batched"}  # arguments: text


def test_every_exercises_hidden_inputs_reach_the_sandbox_intact():
    """The arguments of every check's hidden cases survive the trip as plain data (dtypes, dicts of tensors, runs).

    The checks whose cases run the model (slow to build) are left out: their arguments are texts.
    """
    for exercise in load_exercises().values():
        light = dataclasses.replace(exercise, tasks=tuple(t for t in exercise.tasks if t.check not in RUN_THE_MODEL))
        sent = json.loads(hidden_inputs(light))
        assert [(t["function"], t["check"]) for t in sent] == [(t.function, t.check) for t in light.tasks]
        for task in sent:
            cases = suite(task["check"]).cases
            assert len(task["cases"]) == len(cases) > 0
            for line, case in zip(task["cases"], cases):
                assert same(decode(line), case.args), (task["check"], case.name)


def events_for(check, fn):
    """The events a sandbox would send for ``fn`` on ``check``'s hidden cases."""
    events = [{"task": check, "defined": True}]
    for k, case in enumerate(checks.suite_of(getattr(checks, check)).cases):
        try:
            events.append({"task": check, "case": k, "answer": encode(fn(*case.args))})
        except Exception as e:  # noqa: BLE001 (what the sandbox does with any error)
            events.append({"task": check, "case": k, "raised": [type(e).__name__, str(e), "in fn, line 1"]})
    return events


def test_judge_replays_answers_and_errors():
    task = Task("best_matches", "check_best_matches")
    stopped = ("timed out", "timed out after 9 s")
    reference = lambda q, d: [(m.doc_position, m.similarity) for m in explain(q, d)]
    verdict = judge_task(task, events_for(task.check, reference), stopped)
    assert verdict.verdict == "passed" and verdict.message.startswith("✓ check_best_matches")
    verdict = judge_task(task, events_for(task.check, lambda q, d: 1 / 0), stopped)
    assert verdict.verdict == "crashed"
    assert "raised ZeroDivisionError: division by zero" in verdict.message and "raised in fn, line 1" in verdict.message
    verdict = judge_task(task, events_for(task.check, lambda q, d: None), stopped)
    assert verdict.verdict == "unanswered" and "returned None" in verdict.message
    cut = events_for(task.check, reference)[:2]  # the notebook stopped after the first case
    assert judge_task(task, cut, stopped).message == "timed out after 9 s, while best_matches ran on hidden case 2."
    assert judge_task(task, [], stopped).verdict == "timed out"
    assert judge_task(task, [{"task": task.check, "defined": False}], stopped).verdict == "unanswered"


def test_judge_is_not_fooled_by_forged_or_odd_answers():
    task = Task("maxsim_pair", "check_maxsim")
    events = events_for(task.check, maxsim)
    events[1]["answer"] = "{not an encoded value"
    verdict = judge_task(task, events, ("crashed", "crashed"))
    assert verdict.verdict == "failed" and "expected a number, got a malformed" in verdict.message
    events = events_for(task.check, lambda q, d: {"a": 1})
    assert "expected a number, got a dict" in judge_task(task, events, ("crashed", "crashed")).message
    forged = [{"task": task.check, "defined": True}, {"task": task.check, "case": 0, "raised": 5}]
    assert judge_task(task, forged, ("crashed", "crashed")).message.startswith("check_maxsim: your function raised 5")


def test_codec_round_trips_plain_data_only():
    value = [1, 2.5, "x", None, ..., True, (1, "a"), {"q": {"d": 0.5}, 3: 4}, torch.float16,
             torch.arange(6.0).reshape(2, 3), torch.zeros(0, 4), torch.ones(2, dtype=torch.bfloat16)]  # fmt: skip
    back = decode(encode(value))
    assert back[:9] == value[:9] and type(back[6]) is tuple and back[8] is torch.float16
    for got, sent in zip(back[9:], value[9:]):
        assert got.dtype == sent.dtype and torch.equal(got, sent)
    odd = decode(encode(io.StringIO("x")))
    assert isinstance(odd, Opaque) and type(odd).__name__ == "StringIO"
    for bad in ("", "[]", '{"value": {"pickle": "gASV"}, "tensors": ""}', '{"value": 1, "tensors": "!!"}'):
        with pytest.raises(ValueError, match="not an encoded value"):
            decode(bad)


@pytest.mark.slow
def test_the_sandbox_is_offline_unprivileged_and_alone():
    """A notebook's function reports what it can reach; the grader reads its answer back as plain data.

    "Offline" is checked against a server this test opens on the grader's own loopback:
    a process outside the sandbox reaches it, the notebook must not.
    """
    how = isolation()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from here
        probe = (
            "import os, socket\n"
            "def probe():\n"
            "    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "        net = 'connected'\n"
            "    except OSError as e:\n"
            "        net = type(e).__name__\n"
            "    pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
            "    return {'net': net, 'uid': os.getuid(), 'pids': len(pids), 'cwd': os.listdir('.')}\n"
        )
        notebook = {"cells": [{"cell_type": "code", "source": probe, "metadata": {}, "outputs": []}], "metadata": {}}
        inputs = json.dumps([{"check": "probe", "function": "probe", "cases": [encode(())]}])
        outcome = run_notebook(json.dumps(notebook).encode(), inputs, Limits(seconds=60), how)
    assert outcome.finished, outcome.output
    seen = decode(next(e["answer"] for e in outcome.events if e.get("task") == "probe" and "answer" in e))
    assert [n for n in seen["cwd"] if not n.startswith(".")] == ["submission.ipynb"]  # its own copy, alone
    if how.description.startswith("no network"):
        assert seen["net"] != "connected" and seen["pids"] <= 3, seen  # its init, itself, and nothing else
    if how.separate_user:
        assert seen["uid"] != os.geteuid() and seen["uid"] != 0
    if how.jail == "root":
        assert FRESH_UIDS[0] <= seen["uid"] < FRESH_UIDS[0] + FRESH_UIDS[1]


def test_a_deep_or_locked_tree_is_removed():
    """1,500 nested folders (paths past PATH_MAX), one made unreadable, one read-only, and a link out: all go,
    and what the link points to stays."""
    root = Path(tempfile.mkdtemp())
    outside = root / "outside.txt"
    outside.write_text("keep me")
    top = root / "tree"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    for i in range(1500):
        os.mkdir("d" * 8, dir_fd=fd)
        below = os.open("d" * 8, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
        if i == 700:
            os.symlink(outside, "link", dir_fd=fd)
            os.mkdir("locked", mode=0o000, dir_fd=fd)
            os.chmod(fd, 0o500)
    os.close(fd)
    remove_tree(top)
    assert not top.exists() and outside.read_text() == "keep me"
    shutil.rmtree(root)


def fake_run(seen: list, stop_at: int | None = None):
    """A stand-in for run_notebook that records each notebook it runs; it raises KeyboardInterrupt (as a kill
    would end the grader) on notebook number ``stop_at``."""

    def run(notebook, *args):
        if len(seen) == stop_at:
            raise KeyboardInterrupt
        seen.append(json.loads(notebook)["metadata"]["lateint"]["exercise"])
        raise OSError(28, "No space left on device")  # graded as 'crashed'; enough to follow the ledger

    return run


def test_grades_survive_a_killed_grader_and_a_rerun_resumes(tmp_path, monkeypatch):
    import lateint.grade as grading

    for student in ("ann", "ben", "cy"):
        (tmp_path / "subs" / student).mkdir(parents=True)
        shutil.copy(NOTEBOOKS / "solutions" / "00_setup.ipynb", tmp_path / "subs" / student / "00_setup.ipynb")
    out, seen = tmp_path / "grades.csv", []
    monkeypatch.setattr(grading, "run_notebook", fake_run(seen, stop_at=2))
    with pytest.raises(KeyboardInterrupt):
        grade(tmp_path / "subs", out, progress=False)
    assert not out.exists() and len(seen) == 2
    ledger = ledger_path(out).read_text().splitlines()
    assert len(ledger) == 3 and all('"crashed"' in line for line in ledger[1:])  # settings, ann, ben
    with open(ledger_path(out), "a") as f:
        f.write('{"key": "cy/00_setup.ipynb 12')  # a line a kill cut short
    seen.clear()
    monkeypatch.setattr(grading, "run_notebook", fake_run(seen))
    rows = grade(tmp_path / "subs", out, progress=False)
    assert len(seen) == 1  # only cy's notebook ran again
    assert [r.student for r in rows if r.task == "notebook"] == ["ann", "ben", "cy"]
    seen.clear()
    grade(tmp_path / "subs", out, progress=False, regrade=["ben"])
    assert len(seen) == 1
    (tmp_path / "subs" / "ann" / "00_setup.ipynb").write_text(json.dumps(json.loads(
        (NOTEBOOKS / "solutions" / "00_setup.ipynb").read_text()), indent=2))  # fmt: skip
    seen.clear()
    grade(tmp_path / "subs", out, progress=False)
    assert len(seen) == 1  # a changed notebook is graded again
    seen.clear()
    grade(tmp_path / "subs", out, progress=False, limits=Limits(seconds=30))
    assert len(seen) == 3  # other limits: everything again
    assert grade_cli([str(tmp_path / "subs"), "--out", str(out), "--time-limit", "30"]) == 0 and len(seen) == 3


@pytest.mark.slow
def test_the_grader_says_what_isolation_remains(tmp_path, capsys, monkeypatch):
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "homework.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    assert grade_cli([str(tmp_path), "--out", str(tmp_path / "g.csv")]) == 0
    err = capsys.readouterr().err
    how = isolation()
    assert f"sandbox: {how.description}" in err and f"not isolated: {how.missing}" in err
    from lateint.grade import sandbox

    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)  # what an instructor's laptop says (no root)
    isolation.cache_clear()
    try:
        laptop = isolation()
        assert not laptop.separate_user and "can read every file that user can read" in laptop.missing
        if laptop.jail:  # user namespaces allowed: nothing outside can change, but reading is not limited
            assert "can change nothing outside" in laptop.missing and "no limit on processes" in laptop.missing
    finally:
        isolation.cache_clear()


def test_a_notebook_the_grader_cannot_run_is_recorded_and_grading_goes_on(tmp_path, monkeypatch):
    import lateint.grade as grading

    def no_room(notebook, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(grading, "run_notebook", no_room)
    for student in ("ann", "ben"):
        (tmp_path / student).mkdir()
        shutil.copy(NOTEBOOKS / "solutions" / "00_setup.ipynb", tmp_path / student / "00_setup.ipynb")
    rows = grade(tmp_path, progress=False)
    assert [(r.student, r.task, r.verdict) for r in rows] == [
        *[("ann", task, "crashed") for task in ("notebook", "cosine_matrix", "ndcg_at_10")],
        *[("ben", task, "crashed") for task in ("notebook", "cosine_matrix", "ndcg_at_10")],
        ("ann", "total", "0/2"),
        ("ben", "total", "0/2"),
    ]
    assert rows[0].message == "the grader could not run this notebook: OSError: [Errno 28] No space left on device"


def sandbox_pids() -> set[int]:
    """The processes running as a sandbox's fresh user id."""
    found = set()
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and FRESH_UIDS[0] <= entry.stat().st_uid < FRESH_UIDS[0] + FRESH_UIDS[1]:
                found.add(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_killed_grader_takes_its_sandboxes_with_it(tmp_path):
    """SIGKILL the grader while a notebook sleeps in its sandbox: nothing of the sandbox is left running."""
    if isolation().jail != "root":
        pytest.skip("the fresh user ids (and this check) need root")
    script = tmp_path / "grader.py"
    script.write_text(
        "import json\n"
        "from lateint.grade.sandbox import Limits, run_notebook\n"
        "cell = {'cell_type': 'code', 'source': 'import time\\nwhile True: time.sleep(1)', 'metadata': {}}\n"
        "run_notebook(json.dumps({'cells': [cell], 'metadata': {}}).encode(), '[]', Limits(seconds=300))\n"
    )
    before = sandbox_pids()
    grader = subprocess.Popen([sys.executable, str(script)], env=dict(os.environ, TMPDIR=str(tmp_path)))  # its copy
    try:
        deadline = time.monotonic() + 120
        while not (sandbox_pids() - before) and time.monotonic() < deadline:
            time.sleep(0.5)
        started = sandbox_pids() - before
        assert started, "the sandbox did not start"
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 20
    while started & sandbox_pids() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not started & sandbox_pids(), "the sandbox outlived the grader"


@pytest.mark.slow
def test_the_production_exercise_is_graded(tmp_path):
    """Exercise 08 (added after the planted class was built) is graded for real: its worked solution passes,
    the handed-out notebook is unanswered."""
    for student, kind in (("solver", "solutions"), ("starter", "exercises")):
        (tmp_path / "subs" / student).mkdir(parents=True)
        shutil.copy(NOTEBOOKS / kind / "08_production.ipynb", tmp_path / "subs" / student / "08_production.ipynb")
    rows = grade(tmp_path / "subs", tmp_path / "grades.csv", limits=Limits(seconds=120), jobs=2, progress=False)
    verdicts = {(r.student, r.task): r.verdict for r in rows if r.task == "point_bytes"}
    assert verdicts == {("solver", "point_bytes"): "passed", ("starter", "point_bytes"): "unanswered"}, rows


@pytest.mark.slow(seconds=40)
def test_the_predict_measure_explain_tasks_are_graded(tmp_path):
    """Exercises 04 and 06's predict → measure → explain tasks (added after the planted class was built) are graded
    for real: each worked solution gets full marks, every task of its metadata passed."""
    names = ("04_out_of_domain", "06_where_retrieval_still_breaks")
    (tmp_path / "subs" / "solver").mkdir(parents=True)
    for name in names:
        shutil.copy(NOTEBOOKS / "solutions" / f"{name}.ipynb", tmp_path / "subs" / "solver" / f"{name}.ipynb")
    rows = grade(tmp_path / "subs", tmp_path / "grades.csv", limits=Limits(seconds=170), jobs=2, progress=False)
    exercises = load_exercises()
    for name in names:
        tasks = {t.function for t in exercises[name].tasks}
        verdicts = {r.task: r.verdict for r in rows if r.exercise == name and r.task in tasks}
        assert verdicts == dict.fromkeys(tasks, "passed"), [r for r in rows if r.exercise == name]
    assert {"paired_gap", "overlap_halves"} <= {t.function for t in exercises["04_out_of_domain"].tasks}
    assert {"ranking_share", "gap_remedy"} <= {t.function for t in exercises["06_where_retrieval_still_breaks"].tasks}

"""``python -m lateint.grade SUBMISSIONS/ --out grades.csv``: grade a folder of exercise notebooks."""

from __future__ import annotations

import argparse
import sys

from . import Limits, grade, isolation, summary


def main(argv: list[str] | None = None) -> int:
    defaults = Limits()
    parser = argparse.ArgumentParser(
        prog="python -m lateint.grade",
        description="Run every submitted exercise notebook in a sandbox and grade its tasks with lateint's checks.",
    )
    parser.add_argument(
        "submissions", help="folder of submitted notebooks (a sub-folder per student, or names in files)"
    )
    parser.add_argument("--out", default="grades.csv", help="CSV to write (default: grades.csv)")
    parser.add_argument("--exercises", help="folder of the instructor's exercise notebooks (default: the course's)")
    parser.add_argument(
        "--time-limit", type=float, default=defaults.seconds, help="seconds per notebook (default: %(default)s)"
    )
    parser.add_argument(
        "--memory-mb", type=int, default=defaults.memory_mb, help="MiB of memory per notebook (default: %(default)s)"
    )
    parser.add_argument(
        "--processes", type=int, default=defaults.processes,
        help="processes and threads per notebook at once (default: %(default)s)",
    )
    parser.add_argument(
        "--disk-mb", type=int, default=defaults.disk_mb,
        help="MiB a notebook may write in all, temporary files included (default: %(default)s)",
    )
    parser.add_argument(
        "--channel-mb", type=int, default=defaults.channel_mb,
        help="MiB of answers a notebook may send back (default: %(default)s)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default: 1)")
    parser.add_argument("--logs", help="folder for what each notebook printed (cut), one file per notebook")
    parser.add_argument("--fresh", action="store_true", help="grade everything again, ignoring the ledger")
    parser.add_argument(
        "--regrade", action="append", default=[], metavar="STUDENT",
        help="grade this student's notebooks again (the others come from the ledger); may be repeated",
    )
    args = parser.parse_args(argv)

    try:
        limits = Limits(
            seconds=args.time_limit, memory_mb=args.memory_mb, processes=args.processes, disk_mb=args.disk_mb,
            channel_mb=args.channel_mb,
        )  # fmt: skip
        how = isolation()
        print(f"sandbox: {how.description}", file=sys.stderr)
        print(f"not isolated: {how.missing} (see notebooks/exercises/README.md)", file=sys.stderr)
        rows = grade(
            args.submissions, args.out, exercises=args.exercises, limits=limits, jobs=args.jobs, logs=args.logs,
            fresh=args.fresh, regrade=args.regrade,
        )  # fmt: skip
    except (OSError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary(rows))
    print(f"wrote {args.out}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

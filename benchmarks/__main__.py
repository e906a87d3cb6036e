"""Run every benchmark: ``python -m benchmarks [--quick] [--only NAME ...] [--json-dir DIR]``."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from . import ALL
from ._common import run_report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks in order, printing each table; returns 0 when all completed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds per benchmark")
    parser.add_argument("--only", nargs="+", choices=ALL, help="run only these benchmarks")
    parser.add_argument("--json-dir", help="write NAME.json with each benchmark's figures here")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or ALL:
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            report = run_report(module.run, args.quick)
        except Exception as exc:  # keep going: one broken benchmark must not hide the others
            print(f"== {name}: FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
            continue
        print(report.render(), end="\n\n", flush=True)
        if args.json_dir:
            os.makedirs(args.json_dir, exist_ok=True)
            with open(os.path.join(args.json_dir, f"{name}.json"), "w", encoding="utf-8") as out:
                json.dump(report.to_json(), out, indent=2)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

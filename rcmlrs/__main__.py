"""``python -m rcmlrs info | demo | bench``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rcmlrs", description=__doc__)
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("info", help="version, SIMD backend, compiler, threads")
    sub.add_parser("demo", help="tensor basics and a small training run")
    sub.add_parser("bench", help="a quick side-by-side speed check against NumPy")
    args = parser.parse_args(argv)
    if args.cmd == "info":
        import rcmlrs

        rcmlrs.show_config()
        return 0
    if args.cmd == "demo":
        from rcmlrs.demo import run

        return run()
    if args.cmd == "bench":
        from rcmlrs.quickbench import run as bench

        return bench()
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs a tutorial program and its Python twin; their standard output must match.

usage: compare.py PROGRAM PYTHON_FILE [--min-seconds S] [--input-lines N]

--min-seconds S: the weft program must take at least S seconds (the tutorial's
  sleeps; asserted only as a lower bound, never an upper one).
--input-lines N: writes a temporary text file of N lines of varied length and
  passes its path to both programs.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def run(cmd, what):
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{what} failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout, elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("program")
    p.add_argument("python_file")
    p.add_argument("--min-seconds", type=float, default=0.0)
    p.add_argument("--input-lines", type=int, default=0)
    a = p.parse_args()

    extra = []
    tmp = None
    if a.input_lines:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        with tmp:
            for i in range(a.input_lines):
                tmp.write("x" * (i * 7919 % 120) + f" line {i}\n")
        extra = [tmp.name]
    try:
        want, _ = run([sys.executable, a.python_file] + extra, "python3 " + a.python_file)
        got, seconds = run([a.program] + extra, a.program)
    finally:
        if tmp:
            os.unlink(tmp.name)
    if got != want:
        sys.exit(f"output differs from Python's\n--- python3 {a.python_file}\n{want}--- {a.program}\n{got}")
    if seconds < a.min_seconds:
        sys.exit(f"{a.program} took {seconds:.3f} s, sooner than the {a.min_seconds} s its sleeps add up to")
    print(f"same output as Python ({len(want.splitlines())} lines), {seconds:.2f} s")


main()

#!/usr/bin/env python3
"""The Google Benchmark fork-join suite end to end, briefly: every problem has a
sequential row, and oneTBB and weft rows at 1 .. hardware threads workers; oneTBB
and weft rows carry vs_serial, weft rows vs_oneTBB, fib and skynet rows ns_per_task,
each a positive number.
    check_gbench.py BUILD_DIR"""
import json
import os
import subprocess
import sys

build = sys.argv[1]
out = subprocess.run([os.path.join(build, "bench", "bench_forkjoin"), "--benchmark_min_time=0.01",
                      "--benchmark_format=json"], capture_output=True, text=True, timeout=600)
if out.returncode != 0:
    sys.exit(f"check_gbench: bench_forkjoin exited {out.returncode}\n{out.stderr}")
rows = {b["name"]: b for b in json.loads(out.stdout)["benchmarks"]}
problems = ["fib", "skynet", "nqueens", "matmul"]
hw = os.cpu_count() or 1
workers = sorted({w for w in [1 << k for k in range(hw.bit_length())] if w <= hw} | {hw})
errors = []
for p in problems:
    if f"serial_{p}/real_time" not in rows:
        errors.append(f"no serial_{p} row")
    for runtime in ["tbb", "weft"]:
        for w in workers:
            name = f"{runtime}_{p}/workers:{w}/real_time"
            row = rows.get(name)
            if row is None:
                errors.append(f"no {name} row")
                continue
            wanted = ["vs_serial"] + (["vs_oneTBB"] if runtime == "weft" else [])
            wanted += ["ns_per_task"] if p in ("fib", "skynet") else []
            for counter in wanted:
                if not (isinstance(row.get(counter), (int, float)) and row[counter] > 0):
                    errors.append(f"{name}: counter {counter} missing or not positive ({row.get(counter)!r})")
if errors:
    sys.exit("check_gbench: " + "; ".join(errors))
print(f"bench_forkjoin: {len(rows)} rows, ratio counters present (workers {workers})")

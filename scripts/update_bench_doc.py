#!/usr/bin/env python3
"""Writes the fork-join results of a weft-compare --data run into docs/benchmarks.md,
between the markers `<!-- bench.sh: forkjoin begin -->` and `<!-- bench.sh:
forkjoin end -->`, with the machine, the compiler, the date and the command.
    update_bench_doc.py DATA_DIR BUILD_DIR DOC COMMAND"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

BEGIN = "<!-- bench.sh: forkjoin begin -->"
END = "<!-- bench.sh: forkjoin end -->"


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def machine():
    cpu = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.M)
    distro = re.search(r'^PRETTY_NAME="?([^"\n]+)', read("/etc/os-release"), re.M)
    parts = [cpu.group(1).strip() if cpu else platform.processor() or "unknown CPU",
             f"{os.cpu_count()} hardware threads"]
    if mem:
        parts.append(f"{int(mem.group(1)) / 1024 / 1024:.0f} GiB")
    if distro:
        parts.append(distro.group(1))
    return ", ".join(parts)


def compiler(build_dir):
    """The C++ compiler the build uses, as its --version's first line says."""
    try:
        targets = json.loads(read(os.path.join(build_dir, "meson-info", "intro-targets.json"), "[]"))
        command = next(src["compiler"] for t in targets for src in t.get("target_sources", [])
                       if src.get("language") == "cpp" and src.get("compiler"))
        out = subprocess.run(command + ["--version"], capture_output=True, text=True, check=True).stdout
        return out.splitlines()[0]
    except (StopIteration, ValueError, OSError, IndexError, subprocess.CalledProcessError):
        return "unknown compiler"


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    data_dir, build_dir, doc, command = sys.argv[1:]
    table = read(os.path.join(data_dir, "table.md"))
    if not table:
        sys.exit(f"update_bench_doc.py: no {data_dir}/table.md: run weft-compare --data {data_dir} first")
    text = read(doc)
    if BEGIN not in text or END not in text:
        sys.exit(f"update_bench_doc.py: {doc} has no '{BEGIN}' ... '{END}' section")
    today = datetime.date.today().isoformat()
    block = (f"{BEGIN}\n"
             f"**Machine:** {machine()}; {compiler(build_dir)}, release build. "
             f"Written by `scripts/bench.sh` on {today}.\n\n"
             f"**Command:** `{command}` (`weft-compare --data`; each time is the median of the timed runs "
             f"after a warm-up; weft and oneTBB, and the worker counts, take turns, one run each).\n\n"
             f"{table.rstrip()}\n\n"
             f"![weft and oneTBB: time, speedup and ratio against workers; cost per fib task]"
             f"(img/forkjoin.png)\n"
             f"{END}")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(doc, "w") as f:
        f.write(text[:start] + block + text[end:])
    print(f"updated {doc} (fork-join section) and docs/img/forkjoin.png")


if __name__ == "__main__":
    main()

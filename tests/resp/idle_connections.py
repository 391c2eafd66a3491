#!/usr/bin/env python3
"""10,000 idle connections against examples/resp_server (argv[1]).

The server must hold them all (INFO's connected_clients counts them), keep serving
every one of them, and use no more CPU while they sit idle than it does with none:
an idle connection is a read parked in the reactor, not something polled. Its
resident memory with the connections open is printed for the record (not asserted:
it depends on the allocator and the kernel).

CPU is read from /proc/PID/stat (user + system ticks) over an idle window; the bound
is generous (a tenth of one core) because the machine is shared, and no wall-clock
speed is asserted."""
import os
import re
import resource
import socket
import sys
import time

from resp_client import check, command, connect, connected_clients, start, wait_connected_clients

CONNECTIONS = 10_000
IDLE_WINDOW_S = 2.0
TICK = os.sysconf("SC_CLK_TCK")


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(need, soft), max(need, hard)))
    except (ValueError, OSError):
        if hard < need:
            sys.exit(f"FAILED: the open-file limit is {hard} and cannot be raised to {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def idle_cpu(pid):
    before = cpu_seconds(pid)
    time.sleep(IDLE_WINDOW_S)
    return cpu_seconds(pid) - before


def main():
    raise_fd_limit(CONNECTIONS + 256)
    proc, port = start(sys.argv[1], "--workers", "2", "--maxclients", str(CONNECTIONS + 16))
    conns = []
    try:
        good = connect(port, timeout=30)
        check(command(good, b"PING") == b"+PONG\r\n", "PING before the idle connections")
        base_cpu = idle_cpu(proc.pid)
        base_rss = rss_mib(proc.pid)

        for _ in range(CONNECTIONS):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        # Every connection is live: each one says something once (so each has been
        # through a read), then they all go quiet.
        for i, c in enumerate(conns):
            c.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\nidle:%d\r\n$1\r\nx\r\n" % (len(b"idle:%d" % i), i))
        for i, c in enumerate(conns):
            reply = c.recv(16)
            check(reply == b"+OK\r\n", f"connection {i} got {reply!r} for SET")
        n = connected_clients(good)
        check(n == CONNECTIONS + 1, f"connected_clients is {n} with {CONNECTIONS} idle connections open")
        check(command(good, b"DBSIZE") == b":%d\r\n" % CONNECTIONS, "DBSIZE after one SET per connection")

        held_cpu = idle_cpu(proc.pid)
        held_rss = rss_mib(proc.pid)
        print(f"idle CPU over {IDLE_WINDOW_S:.0f} s: {base_cpu:.2f} s with no clients, "
              f"{held_cpu:.2f} s with {CONNECTIONS} idle connections")
        print(f"resident memory: {base_rss:.1f} MiB with no clients, {held_rss:.1f} MiB with {CONNECTIONS} "
              f"({(held_rss - base_rss) * 1024 / CONNECTIONS:.2f} KiB per connection)")
        check(held_cpu <= base_cpu + 0.1 * IDLE_WINDOW_S,
              f"{CONNECTIONS} idle connections cost {held_cpu:.2f} s of CPU in {IDLE_WINDOW_S} s "
              f"(vs {base_cpu:.2f} s with none): something polls them")

        # After the quiet, the oldest and the newest are still served.
        for c in (conns[0], conns[len(conns) // 2], conns[-1]):
            check(command(c, b"PING") == b"+PONG\r\n", "PING on a connection after the idle window")

        for c in conns:
            c.close()
        conns = []
        n = wait_connected_clients(good, 1, 60)
        check(n == 1, f"connected_clients is {n} after the idle connections closed (a leaked connection)")
        good.close()
        proc.send_signal(2)
        check(proc.wait(timeout=60) == 0, "resp_server did not exit 0 on SIGINT")
        print(f"idle connections: {CONNECTIONS} held and served, no CPU while idle, none leaked")
    finally:
        for c in conns:
            c.close()
        if proc.poll() is None:
            proc.kill()


main()

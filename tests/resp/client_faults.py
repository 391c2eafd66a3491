#!/usr/bin/env python3
"""Client faults against examples/resp_server (argv[1]): connections cut in the
middle of a bulk string, a client sending 1 MB of garbage, a client announcing a
bulk larger than --max-bulk, and 200 clients that vanish mid-command. The server
must keep serving a well-behaved client throughout, refuse the bad ones with a
protocol error, and leak no connection (INFO's connected_clients returns to 1)."""
import os
import random
import re
import socket
import subprocess
import sys
import time


def start(server):
    proc = subprocess.Popen([server, "--port", "0", "--workers", "2", "--max-bulk", "1048576"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"resp_server did not start: {line!r}")
    return proc, int(m.group(1))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def command(s, *args):
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    s.sendall(req)
    return read_reply(s)


def read_reply(s):
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    if buf.startswith(b"$"):
        n = int(buf[1:buf.index(b"\r\n")])
        want = buf.index(b"\r\n") + 2 + max(n, 0) + (2 if n >= 0 else 0)
        while len(buf) < want:
            buf += s.recv(65536)
    return buf


def read_until_closed(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def connected_clients(s):
    info = command(s, b"INFO", b"clients").decode()
    return int(re.search(r"connected_clients:(\d+)", info).group(1))


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def main():
    proc, port = start(sys.argv[1])
    try:
        good = connect(port)
        check(command(good, b"SET", b"k", b"v") == b"+OK\r\n", "SET before the faults")

        # Cut in the middle of a bulk string, 50 times.
        for _ in range(50):
            c = connect(port)
            c.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$100\r\nonly part of it")
            c.close()
        check(command(good, b"GET", b"k") == b"$1\r\nv\r\n", "GET after mid-bulk cuts")

        # 1 MB of garbage: refused with a protocol error, then closed.
        g = connect(port)
        rnd = random.Random(7)
        garbage = bytes(rnd.randrange(256) for _ in range(1 << 20)).replace(b"\n", b"x")
        try:
            g.sendall(b"*" + garbage)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = read_until_closed(g)
        check(reply.startswith(b"-ERR Protocol error"), f"garbage got {reply[:60]!r}")
        g.close()

        # A bulk longer than --max-bulk is refused before its data is sent.
        b = connect(port)
        b.sendall(b"*2\r\n$3\r\nGET\r\n$2000000\r\n")
        reply = read_until_closed(b)
        check(reply == b"-ERR Protocol error: invalid bulk length\r\n", f"oversized bulk got {reply!r}")
        b.close()

        # 200 clients vanish mid-command, some with a reset.
        for i in range(200):
            c = connect(port)
            c.sendall(b"*2\r\n$4\r\nECHO\r\n$10\r\nabc")
            if i % 2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()

        check(command(good, b"PING") == b"+PONG\r\n", "PING after the faults")
        deadline = time.monotonic() + 30
        while connected_clients(good) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        n = connected_clients(good)
        check(n == 1, f"connected_clients is {n} after every bad client left (a leaked connection)")
        good.close()
        proc.send_signal(2)
        check(proc.wait(timeout=30) == 0, "resp_server did not exit 0 on SIGINT")
        print("client faults: server kept serving, refused the bad clients, leaked no connection")
    finally:
        if proc.poll() is None:
            proc.kill()


main()

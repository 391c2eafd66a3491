#!/usr/bin/env python3
"""Client faults against examples/resp_server (argv[1]): connections cut in the
middle of a bulk string, a client sending 1 MB of garbage, a client announcing a
bulk larger than --max-bulk, and 200 clients that vanish mid-command. The server
must keep serving a well-behaved client throughout, refuse the bad ones with a
protocol error, and leak no connection (INFO's connected_clients returns to 1)."""
import random
import socket
import sys

from resp_client import check, command, connect, start, wait_connected_clients


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


def main():
    proc, port = start(sys.argv[1], "--workers", "2", "--max-bulk", "1048576")
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
        n = wait_connected_clients(good, 1, 30)
        check(n == 1, f"connected_clients is {n} after every bad client left (a leaked connection)")
        good.close()
        proc.send_signal(2)
        check(proc.wait(timeout=30) == 0, "resp_server did not exit 0 on SIGINT")
        print("client faults: server kept serving, refused the bad clients, leaked no connection")
    finally:
        if proc.poll() is None:
            proc.kill()


main()

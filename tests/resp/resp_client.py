"""What the RESP test scripts share: start examples/resp_server on a free port,
connect, send a command and read its reply, read INFO's connected_clients and
wait for it to settle."""
import re
import socket
import subprocess
import sys
import time


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def start(server, *flags):
    """Starts the server with --port 0 and `flags`; gives (process, port)."""
    proc = subprocess.Popen([server, "--port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"resp_server did not start: {line!r}")
    return proc, int(m.group(1))


def connect(port, timeout=20):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def command(s, *args):
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    s.sendall(req)
    return read_reply(s)


def read_reply(s):
    """One reply's bytes: a line, or a bulk string with its data."""
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


def connected_clients(s):
    info = command(s, b"INFO", b"clients").decode()
    return int(re.search(r"connected_clients:(\d+)", info).group(1))


def wait_connected_clients(s, want, seconds, steady=0.5):
    """Polls connected_clients until it has read `want` for `steady` seconds in a
    row, or `seconds` pass; gives the last count. Closing connections leave the
    server a moment later, and connections a client opened and closed at once may
    still wait in the listen backlog: the server accepts them late, so the count
    can read `want` and then rise again for a moment before they go."""
    deadline = time.monotonic() + seconds
    since = None
    while True:
        n = connected_clients(s)
        now = time.monotonic()
        if n != want:
            since = None
        elif since is None:
            since = now
        if (since is not None and now - since >= steady) or now >= deadline:
            return n
        time.sleep(0.05)

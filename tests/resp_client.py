"""resp_client.py -- the one raw RESP client of the server tests
(server_test.py, server_obuf.py, server_damage.py, the failing-disk
tests), for what a client library hides: bytes sent exactly as written,
pipelines of any length, a client that stops reading, a connection the
server closes.

Commands go out as RESP2 arrays of bulk strings; replies, RESP2 or RESP3,
come back as Python values: Simple (+), Err (-, its text), int (:),
bytes ($, None for a null), list (*), Map (%), RespSet (~), None (_),
Double (,), bool (#), Verbatim (=).
"""
import socket


class Err(str):
    """An error reply: its full text, prefix included ("ERR ...")."""


class Simple(str):
    """A simple string reply (+OK)."""


class Verbatim(bytes):
    """A RESP3 verbatim string; .fmt is its 3-letter format."""
    fmt = ""


class Double(float):
    """A RESP3 double."""


class Map(dict):
    """A map reply (RESP3 %)."""


class Push(list):
    """A RESP3 out-of-band push (>)."""


class RespSet(list):
    """A set reply (RESP3 ~), order kept."""


def encode(args):
    """One command (a sequence of str, bytes or int) as RESP."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """One connection.  small_window: a tiny receive buffer, set before
    connecting, so that a client that does not read holds up the server's
    output at once rather than after megabytes of kernel buffers."""

    def __init__(self, port, host="127.0.0.1", timeout=30,
                 small_window=False):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if small_window:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.s.settimeout(10)
        self.s.connect((host, port))
        self.s.settimeout(timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        """Raw bytes, as they are."""
        self.s.sendall(data)

    def command(self, *args):
        """Send one command; its reply is read later (reply())."""
        self.send(encode(args))

    def send_commands(self, *cmds):
        """Send several commands at once (each a tuple of arguments)."""
        self.send(b"".join(encode(c) for c in cmds))

    def call(self, *args):
        """One command and its reply."""
        self.command(*args)
        return self.reply()

    def pipe(self, cmds):
        """Several commands in one write, then their replies."""
        self.send_commands(*cmds)
        return [self.reply() for _ in cmds]

    def _fill(self):
        data = self.s.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def closed(self):
        """True if the server has closed the connection (EOF or reset)
        within 5 s."""
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def drain_to_eof(self):
        """Read and count bytes until the server closes: the count, or
        None if it did not close within the timeout."""
        n = len(self.buf)
        self.buf = b""
        try:
            while True:
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    return n
                n += len(chunk)
        except ConnectionResetError:
            return n
        except socket.timeout:
            return None

    def reply(self):
        """The next reply."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Simple(rest.decode())
        if t == b"-":
            return Err(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._bytes(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if t == b"%":
            m = Map()
            for _ in range(int(rest)):
                k = self.reply()
                m[k] = self.reply()
            return m
        if t == b"~":
            return RespSet(self.reply() for _ in range(int(rest)))
        if t == b">":
            return Push(self.reply() for _ in range(int(rest)))
        if t == b"_":
            return None
        if t == b",":
            return Double(float(rest))
        if t == b"#":
            return rest == b"t"
        if t == b"=":
            data = self._bytes(int(rest))
            v = Verbatim(data[4:])
            v.fmt = data[:3].decode()
            return v
        raise ValueError("unexpected reply line %r" % line)


class Checks:
    """A test script's checks: check(what, ok[, detail]) prints an "ok:" or
    "FAIL:" line; .checks and .failures count them."""

    def __init__(self):
        self.checks = self.failures = 0

    def __call__(self, what, ok, detail=""):
        self.checks += 1
        if ok:
            print("ok:   " + what)
        else:
            self.failures += 1
            print("FAIL: " + what + ("\n    " + detail if detail else ""))

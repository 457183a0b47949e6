#!/usr/bin/env python3
"""A tiny CQL client (native protocol v4, Python standard library only).

cluster.sh uses it to wait until a node accepts a login and to run the few
statements that set a cluster up; it needs no virtualenv. It is not a driver:
one connection, one statement at a time, no paging beyond the first page.

  cql.py [-H host] [-p port] [-u user] [-P password] [--ca ca.pem [--cert c.pem --key k.pem]]
         [-c CONSISTENCY] [--timeout s] STATEMENT...

Rows are printed one per line, columns separated by tabs. Exit status: 0 on
success, 1 on a server error or a connection/login failure (message on stderr).
"""

import argparse
import ipaddress
import socket
import ssl
import struct
import sys
import uuid

VERSION = 4
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
OP_QUERY, OP_RESULT = 0x07, 0x08
OP_AUTH_CHALLENGE, OP_AUTH_RESPONSE, OP_AUTH_SUCCESS = 0x0E, 0x0F, 0x10

CONSISTENCY = {"ANY": 0, "ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": 4, "ALL": 5,
               "LOCAL_QUORUM": 6, "EACH_QUORUM": 7, "SERIAL": 8, "LOCAL_SERIAL": 9, "LOCAL_ONE": 10}


class CQLError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise CQLError("short frame body")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def byte(self):
        return self.take(1)[0]

    def short(self):
        return struct.unpack(">H", self.take(2))[0]

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        return self.take(self.short()).decode()

    def bytes(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def option(self):
        kind = self.short()
        if kind == 0x0000:
            return (kind, self.string())
        if kind in (0x20, 0x22):  # list, set
            return (kind, self.option())
        if kind == 0x21:  # map
            return (kind, self.option(), self.option())
        if kind == 0x30:  # UDT
            self.string(), self.string()
            return (kind, [(self.string(), self.option()) for _ in range(self.short())])
        if kind == 0x31:  # tuple
            return (kind, [self.option() for _ in range(self.short())])
        return (kind,)


def s_string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def decode(t, b):
    """Renders one cell as text; unknown types as hex."""
    if b is None:
        return "null"
    kind = t[0]
    if kind in (0x01, 0x0D):
        return b.decode()
    if kind in (0x02, 0x05, 0x09, 0x0B, 0x13, 0x14, 0x0E):
        return str(int.from_bytes(b, "big", signed=True))
    if kind == 0x04:
        return "true" if b and b[0] else "false"
    if kind == 0x07:
        return repr(struct.unpack(">d", b)[0])
    if kind == 0x08:
        return repr(struct.unpack(">f", b)[0])
    if kind in (0x0C, 0x0F):
        return str(uuid.UUID(bytes=b))
    if kind == 0x10:
        return str(ipaddress.ip_address(b))
    if kind in (0x20, 0x22, 0x21):
        r = Reader(b)
        n = r.int()
        if kind == 0x21:
            items = ["%s: %s" % (decode(t[1], r.bytes()), decode(t[2], r.bytes())) for _ in range(n)]
            return "{" + ", ".join(items) + "}"
        items = [decode(t[1], r.bytes()) for _ in range(n)]
        return ("[%s]" if kind == 0x20 else "{%s}") % ", ".join(items)
    return "0x" + b.hex()


class Connection:
    def __init__(self, host, port, timeout, ca=None, cert=None, key=None):
        sock = socket.create_connection((host, port), timeout=timeout)
        if ca:
            ctx = ssl.create_default_context(cafile=ca)
            if cert:
                ctx.load_cert_chain(cert, key)
            sock = ctx.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.stream = 0

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise CQLError("connection closed by server")
            out += chunk
        return out

    def request(self, opcode, body):
        self.stream = (self.stream + 1) % 32768
        self.sock.sendall(struct.pack(">BBhBi", VERSION, 0, self.stream, opcode, len(body)) + body)
        while True:
            version, _flags, stream, op, length = struct.unpack(">BBhBi", self.recv_exact(9))
            data = self.recv_exact(length)
            if stream != self.stream:
                continue  # an event or a stale reply
            if version & 0x7F != VERSION:
                raise CQLError("server answered with protocol version %d" % (version & 0x7F))
            if op == OP_ERROR:
                r = Reader(data)
                code = r.int()
                raise CQLError("server error 0x%04x: %s" % (code, r.string()))
            return op, Reader(data)

    def login(self, user, password):
        op, _ = self.request(OP_STARTUP, struct.pack(">H", 1) + s_string("CQL_VERSION") + s_string("3.0.0"))
        if op == OP_READY:
            return
        if op != OP_AUTHENTICATE:
            raise CQLError("unexpected opcode 0x%02x after STARTUP" % op)
        token = b"\x00" + user.encode() + b"\x00" + password.encode()
        op, _ = self.request(OP_AUTH_RESPONSE, struct.pack(">i", len(token)) + token)
        if op != OP_AUTH_SUCCESS:
            raise CQLError("login failed: opcode 0x%02x" % op)

    def query(self, statement, consistency):
        body = struct.pack(">i", len(statement.encode())) + statement.encode()
        body += struct.pack(">HB", consistency, 0)
        op, r = self.request(OP_QUERY, body)
        if op != OP_RESULT:
            raise CQLError("unexpected opcode 0x%02x after QUERY" % op)
        if r.int() != 2:  # not Rows: void, set_keyspace, schema_change
            return []
        flags, ncols = r.int(), r.int()
        if flags & 0x0002:
            r.bytes()  # paging state
        types = []
        if not flags & 0x0004:
            if flags & 0x0001:
                r.string(), r.string()
            for _ in range(ncols):
                if not flags & 0x0001:
                    r.string(), r.string()
                r.string()
                types.append(r.option())
        return [[decode(types[i], r.bytes()) for i in range(ncols)] for _ in range(r.int())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-H", "--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, default=9042)
    ap.add_argument("-u", "--user", default="cassandra")
    ap.add_argument("-P", "--password", default="cassandra")
    ap.add_argument("--ca", help="CA file: connect with TLS and verify the server")
    ap.add_argument("--cert", help="client certificate (PEM) for mutual TLS")
    ap.add_argument("--key", help="client private key (PEM) for mutual TLS")
    ap.add_argument("-c", "--consistency", default="ONE", choices=sorted(CONSISTENCY))
    ap.add_argument("--timeout", type=float, default=10.0, help="socket timeout, seconds")
    ap.add_argument("statements", nargs="*", help="CQL statements, run in order")
    args = ap.parse_args()
    try:
        conn = Connection(args.host, args.port, args.timeout, args.ca, args.cert, args.key)
        try:
            conn.login(args.user, args.password)
            for st in args.statements:
                for row in conn.query(st, CONSISTENCY[args.consistency]):
                    print("\t".join(row))
        finally:
            conn.close()
    except (OSError, CQLError, struct.error) as e:
        print("cql.py: %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

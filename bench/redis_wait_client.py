#!/usr/bin/env python3
"""Redis's side of bench/vs_redis.sh's sync rows: CLIENTS processes each send BATCH pipelined
`SET key <100 B>` followed by `WAIT 1 0` (acknowledged only once the replica has the writes, as
drsim's sync workloads are), back to back for SECONDS, over plain RESP on 127.0.0.1.
Prints one line: `<writes acknowledged> <seconds>`. No redis-py needed (not in Debian 12's
python3 by default)."""
import argparse
import multiprocessing
import socket
import time


def client(port, index, batch, seconds, value_bytes, out):
    value = b"v" * value_bytes
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A few pre-encoded pipelines with distinct keys, reused round robin: the client's cost
    # stays small next to Redis's.
    pipelines = []
    for p in range(8):
        parts = []
        for i in range(batch):
            key = b"c%d-%d" % (index, (p * batch + i) % 100000)
            parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" %
                         (len(key), key, len(value), value))
        parts.append(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n")
        pipelines.append(b"".join(parts))
    replies_per_pipeline = batch + 1  # +OK per SET, :<replicas> for WAIT; one line each
    acked = 0
    n = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        sock.sendall(pipelines[n % len(pipelines)])
        n += 1
        lines = 0
        tail = b""
        while lines < replies_per_pipeline:
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("redis closed the connection")
            lines += chunk.count(b"\r\n")
            tail = (tail + chunk)[-16:]
        if b"-ERR" in tail or b":0\r\n" in tail:
            raise SystemExit("WAIT answered without a replica: " + repr(tail))
        acked += batch
    out.put((acked, time.monotonic() - start))
    sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--value-bytes", type=int, default=100)
    a = ap.parse_args()
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client,
                                     args=(a.port, i, a.batch, a.seconds, a.value_bytes, out))
             for i in range(a.clients)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(a.seconds + 60)
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit("a client failed (see above)")
    results = [out.get(timeout=5) for _ in procs]
    print(sum(r[0] for r in results), max(r[1] for r in results))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Redis Sentinel's side of bench/vs_sentinel.sh: the RTO of one automatic failover.

Starts a Redis master, one replica and one Sentinel (quorum 1) on free 127.0.0.1 ports in a
temp dir, drives ~400 SETs/s from one client (a timeout per SET, default 1 s) that asks the Sentinel
where the master is at start and after every failed write (as Sentinel-aware clients do), then SIGKILLs (or SIGSTOPs)
the master. RTO = the first SET acknowledged by the promoted replica - the fault. Prints one
JSON line per run: {"fault", "rto_ms", "failed_writes"}. Every process it
started is killed by PID at the end. No redis-py needed: plain RESP over sockets.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def command(port, *args, timeout=0.2):
    """One RESP command; returns the reply's first line (decoded) or raises OSError."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(timeout)
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        s.sendall(b"".join(parts))
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("connection closed")
            data += chunk
        if data.startswith(b"*"):  # an array (get-master-addr-by-name): read all of it
            deadline = time.monotonic() + timeout
            while data.count(b"\r\n") < 5 and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace")


def master_from_sentinel(sentinel_port):
    reply = command(sentinel_port, "SENTINEL", "get-master-addr-by-name", "m")
    lines = reply.split("\r\n")
    # *2 $9 127.0.0.1 $5 PORT
    return int(lines[4])


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def one_run(fault, down_after_ms, failover_timeout_ms, client_timeout):
    work = tempfile.mkdtemp(prefix="sentinel-rto-")
    procs = []
    try:
        master, replica, sentinel = free_port(), free_port(), free_port()
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        for name, port, extra in (("m", master, []),
                                  ("r", replica, ["--replicaof", "127.0.0.1", str(master)])):
            os.makedirs(os.path.join(work, name))
            procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--dir", os.path.join(work, name),
                 "--logfile", os.path.join(work, name, "log")] + common + extra))
        conf = os.path.join(work, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"bind 127.0.0.1\nport {sentinel}\ndir {work}\n"
                    f"logfile {os.path.join(work, 'sentinel.log')}\n"
                    f"sentinel monitor m 127.0.0.1 {master} 1\n"
                    f"sentinel down-after-milliseconds m {down_after_ms}\n"
                    f"sentinel failover-timeout m {failover_timeout_ms}\n"
                    f"sentinel parallel-syncs m 1\n")
        procs.append(subprocess.Popen(["redis-server", conf, "--sentinel"]))
        if not wait_until(lambda: "master_link_status:up" in command(replica, "INFO", "replication"), 10):
            raise RuntimeError("the replica did not connect to the master within 10 s")
        if not wait_until(lambda: master_from_sentinel(sentinel) == master, 10):
            raise RuntimeError("the Sentinel does not name the master within 10 s")
        # Let the Sentinel discover the replica (it learns it from the master's INFO, every 10 s
        # at first; a failover needs it).
        if not wait_until(lambda: not command(sentinel, "SENTINEL", "replicas", "m",
                                              timeout=0.5).startswith("*0"), 20):
            raise RuntimeError("the Sentinel did not discover the replica within 20 s")

        target = master
        failed = 0
        n = 0
        fault_at = None
        end = None
        start = time.monotonic()
        while True:
            now = time.monotonic()
            if fault_at is None and now - start >= 1.5:
                os.kill(procs[0].pid, signal.SIGSTOP if fault == "freeze" else signal.SIGKILL)
                fault_at = time.monotonic()
            try:
                reply = command(target, "SET", "k%d" % n, "v" * 100, timeout=client_timeout)
                ok = reply.startswith("+OK")
            except OSError:
                ok = False
            if ok and fault_at is not None and target != master:
                end = time.monotonic()
                break
            if not ok:
                failed += 1
                try:
                    target = master_from_sentinel(sentinel)
                except (OSError, ValueError, IndexError):
                    pass
            if fault_at is not None and time.monotonic() - fault_at > 30:
                raise RuntimeError("no write acknowledged by a new master within 30 s")
            n += 1
            time.sleep(0.0025)  # ~400 writes/s, as drsim-bench's load
        return {"fault": fault, "rto_ms": round((end - fault_at) * 1000, 1),
                "failed_writes": failed}
    finally:
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--fault", choices=["kill", "freeze"], default="kill")
    ap.add_argument("--down-after-ms", type=int, default=1000)
    ap.add_argument("--failover-timeout-ms", type=int, default=5000)
    ap.add_argument("--client-timeout-ms", type=int, default=1000,
                    help="the client's timeout per SET (default 1000, drsim load's deadline)")
    a = ap.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("sentinel_rto.py: redis-server not found (apt-get install redis-server)")
    for _ in range(a.runs):
        print(json.dumps(one_run(a.fault, a.down_after_ms, a.failover_timeout_ms,
                                 a.client_timeout_ms / 1000)), flush=True)


if __name__ == "__main__":
    main()

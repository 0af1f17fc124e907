#!/usr/bin/env python3
"""Sorts ThreadSanitizer reports (scripts/test.sh --sanitize thread) by where their accesses are.

usage: tests/sanitizers/tsan_triage.py [--show] [REPORT_DIR]   (default build-tsan/sanitizer-reports)

Each racing access is classed by its top frame past the sanitizer's own: `drsim` (a source file
of this repository), `generated` (protoc's output for our .proto files), `grpcpp`, `protobuf` or
`libstdc++` (header code compiled into drsim), or the shared library it ran in. Debian's gRPC is
not built with TSan, so the ordering gRPC gives a call's objects (written on one thread before
the call, read or freed on a callback thread after it) is invisible and shows up as races whose
accesses are in drsim, generated or header code. The pairs with both accesses in drsim's own
source are the ones to read first; --show prints one report of each such pair.
"""
import collections
import glob
import re
import sys

FRAME = re.compile(r"\s+#\d+ (.*) (\S+) \((\S+)\)$")
ACCESS = re.compile(r"(Previous )?(read|write|atomic|Read|Write|Atomic)")


def top(stack_lines):
    for line in stack_lines:
        m = FRAME.match(line.rstrip())
        if not m:
            continue
        fn, path, module = m.groups()
        if "libsanitizer" in path or module.startswith("libtsan"):
            continue
        if path.startswith("proto/generated"):
            return "generated", path.split(":")[0], fn
        if path.startswith("../"):
            return "drsim", path.split(":")[0], fn
        for part, name in (("/grpcpp/", "grpcpp"), ("/google/protobuf/", "protobuf"),
                           ("/c++/", "libstdc++"), ("/boost/", "boost")):
            if part in path:
                return name, path.split(":")[0], fn
        return module.split("/")[-1].split("+")[0], "", fn
    return "unknown", "", ""


def main():
    args = [a for a in sys.argv[1:] if a != "--show"]
    show = "--show" in sys.argv
    folder = args[0] if args else "build-tsan/sanitizer-reports"
    kinds, classes, ours, example = (collections.Counter(), collections.Counter(),
                                     collections.Counter(), {})
    files = sorted(glob.glob(folder + "/tsan.*"))
    for f in files:
        for block in open(f, errors="replace").read().split("==================\n"):
            if "WARNING: ThreadSanitizer" not in block:
                continue
            kind = re.search(r"WARNING: ThreadSanitizer: ([^(\n]*)", block).group(1).strip()
            kinds[kind] += 1
            parts = re.split(r"\n  (?=[A-Z])", block)
            tops = [top(p.split("\n")[1:]) for p in parts if ACCESS.match(p)][:2]
            classes[" / ".join(sorted(t[0] for t in tops))] += 1
            if len(tops) == 2 and all(t[0] == "drsim" for t in tops):
                key = " <-> ".join(sorted(f"{t[1]} {t[2][:60]}" for t in tops))
                ours[key] += 1
                example.setdefault(key, block)
    print(f"{sum(kinds.values())} report(s) in {len(files)} file(s) under {folder}")
    for k, n in kinds.most_common():
        print(f"  {n:6d}  {k}")
    print("by the two accesses' top frames:")
    for k, n in classes.most_common():
        print(f"  {n:6d}  {k}")
    print(f"both accesses in drsim's source: {sum(ours.values())}")
    for k, n in ours.most_common():
        print(f"  {n:6d}  {k}")
        if show:
            print(example[k])


if __name__ == "__main__":
    main()

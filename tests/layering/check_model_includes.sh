#!/usr/bin/env bash
# The layering rule of common/model (shared/CONVENTIONS.md): pure state machines that include
# only other model headers, common/core and the plain C++ library — no Asio, gRPC, protobuf,
# RocksDB, spdlog, threads, files or clocks of their own. Exits 1 naming every include that
# breaks it. Usage: check_model_includes.sh [DIR] (default: common/model of this checkout).
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/../.." && pwd)/common/model}"
[ -d "$dir" ] || { echo "check_model_includes: no directory $dir" >&2; exit 2; }
# Standard headers a pure model may use. Anything else (e.g. <thread>, <mutex>, <fstream>,
# <filesystem>, <random>, <iostream>, <boost/...>, <grpcpp/...>) is refused.
allowed='algorithm|array|bit|cctype|charconv|chrono|cmath|compare|cstddef|cstdint|cstdio|cstdlib|cstring|deque|functional|initializer_list|iterator|limits|list|map|memory|numeric|optional|set|span|string|string_view|tuple|type_traits|unordered_map|unordered_set|utility|variant|vector|arpa/inet.h'
bad=0
while IFS= read -r -d '' f; do
  while IFS= read -r line; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*//' <<<"$line")
    case "$inc" in
      \"common/model/*\"|\"common/core/*\") continue ;;
      \"*\") echo "$f: $inc: a model may include only common/model and common/core headers"; bad=1 ;;
      \<*\>)
        name=${inc#<}; name=${name%>}
        if ! grep -qxE "$allowed" <<<"$name"; then
          echo "$f: $inc: not a pure-model header (no I/O, threads, clocks or libraries)"; bad=1
        fi ;;
    esac
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done < <(find "$dir" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "check_model_includes: $(find "$dir" -type f \( -name '*.h' -o -name '*.cc' \) | wc -l) files in $dir include only model, core and plain C++ headers"

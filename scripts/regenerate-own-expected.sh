#!/usr/bin/env bash
# Maintenance tool, not a test: write test/fixtures/own/<arch>/expected.txt,
# what running the ENTRY functions of test/fixtures/own/calls.c must print, by
# the independent oracle (test/loader/oracle.cpp linked normally with gcc's
# object of calls.c) -- no objfold involved. test/loader.test.ts then holds
# objfold's object of calls.jsonl, run by test/loader/loader.cpp, to it.
#
#   scripts/regenerate-own-expected.sh            all four architectures
#   ARCHES="x86_64 s390x" scripts/regenerate-own-expected.sh
#
# Foreign architectures are built with the Debian cross toolchains
# (g++-aarch64-linux-gnu, g++-riscv64-linux-gnu, g++-s390x-linux-gnu) and run
# under qemu-user with the matching sysroot (/usr/<arch>-linux-gnu).
#
# calls.jsonl and calls.o come from scripts/regenerate-own-fixtures.sh (the
# importer). This script compiles calls.c itself with the same flags (those of
# the shared fixtures, also in test/support/loader.ts: keep them in step) and
# warns when the committed calls.o differs, i.e. when calls.jsonl is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

src=test/fixtures/own/calls.c
loader=test/loader
base=(-O2 -fno-pic -ffunction-sections -fasynchronous-unwind-tables -fno-stack-protector
      -fno-jump-tables -fno-tree-loop-distribute-patterns -fno-exceptions)
cxxflags=(-std=c++17 -O1 -Wall -Wextra)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

host=$(uname -m)
status=0
for arch in ${ARCHES:-x86_64 aarch64 riscv64 s390x}; do
  case $arch in
    x86_64 | s390x) extra=() ;;
    aarch64) extra=(-mbranch-protection=none) ;;
    riscv64) extra=(-march=rv64gc -mabi=lp64d -mno-relax) ;;
    *) echo "unknown arch $arch" >&2; exit 2 ;;
  esac
  if [ "$arch" = "$host" ]; then
    cc=gcc cxx=g++ run=()
  else
    triple=$arch-linux-gnu
    cc=$triple-gcc cxx=$triple-g++ run=(qemu-"$arch" -L /usr/"$triple")
  fi

  obj=$work/calls-$arch.o
  "$cc" "${base[@]}" "${extra[@]}" -c "$src" -o "$obj"

  # The module must be self-contained: code only, calls between its own
  # functions. A data section means gcc put something in memory (a literal
  # pool, a constant vector) that objfold's records cannot carry.
  data=$(size -A "$obj" | awk '$1 ~ /^\.(rodata|data|bss|sdata|sbss|srodata)/ && $2 != 0 { print $1 }')
  if [ -n "$data" ]; then
    echo "$arch: calls.c compiled to data sections ($data): keep the module code-only" >&2
    exit 1
  fi

  "$cxx" "${cxxflags[@]}" -no-pie -o "$work/oracle-$arch" "$loader/oracle.cpp" "$obj"
  out=test/fixtures/own/$arch
  mkdir -p "$out"
  "${run[@]}" "$work/oracle-$arch" "$obj" "$src" > "$work/expected-$arch.txt"
  mv "$work/expected-$arch.txt" "$out/expected.txt"

  note=
  if [ ! -e "$out/calls.o" ]; then
    note=" (no calls.o/calls.jsonl yet: run scripts/regenerate-own-fixtures.sh)"
  elif ! cmp -s "$obj" "$out/calls.o"; then
    note=" (WARNING: $out/calls.o differs from this compile: calls.jsonl is stale, run scripts/regenerate-own-fixtures.sh)"
    status=1
  fi
  echo "$out/expected.txt: $(grep -c '^## ' "$out/expected.txt") runs, $(grep -c '^bt ' "$out/expected.txt") backtraces$note"
done
exit $status

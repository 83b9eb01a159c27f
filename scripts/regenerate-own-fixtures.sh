#!/bin/sh
# Maintenance tool, not a test: compile test/fixtures/own/calls.c for the four
# architectures with the flags of the shared fixtures (fixtures/README.md) and
# import each object into test/fixtures/own/<arch>/calls.jsonl, keeping the
# .o beside it. Needs gcc and the Debian cross compilers gcc-aarch64-linux-gnu,
# gcc-riscv64-linux-gnu and gcc-s390x-linux-gnu.
set -eu
cd "$(dirname "$0")/.."

src=test/fixtures/own/calls.c
flags="-O2 -fno-pic -ffunction-sections -fasynchronous-unwind-tables -fno-stack-protector -fno-jump-tables -fno-tree-loop-distribute-patterns -fno-exceptions"

npm run -s build

for arch in x86_64 aarch64 riscv64 s390x; do
  case $arch in
    x86_64) cc=gcc; extra= ;;
    aarch64) cc=aarch64-linux-gnu-gcc; extra=-mbranch-protection=none ;;
    riscv64) cc=riscv64-linux-gnu-gcc; extra="-march=rv64gc -mabi=lp64d -mno-relax" ;;
    s390x) cc=s390x-linux-gnu-gcc; extra= ;;
  esac
  out=test/fixtures/own/$arch
  mkdir -p "$out"
  # shellcheck disable=SC2086 # the flag lists are meant to split
  $cc $flags $extra -c "$src" -o "$out/calls.o"
  node scripts/import-object.mjs "$out/calls.o" "$out/calls.jsonl"
  echo "$out/calls.jsonl: $(($(wc -l < "$out/calls.jsonl") - 1)) functions"
done

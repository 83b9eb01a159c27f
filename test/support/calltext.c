/*
 * calltext: map the .text of an objfold object the way Wasmtime does (the
 * file bytes at their file offset, read + execute, nothing relocated) and
 * call functions in it. No unwinding, no exceptions: the general loader in
 * test/support/loader.* does that; this is the small, dedicated harness for
 * the veneer tests, built for the target and run under qemu-user.
 *
 *   calltext OBJECT TEXT_OFFSET TEXT_SIZE [FN_OFFSET A B]...
 *
 * Each function is called as long f(long a, long b, long (*host)(long, long)),
 * where host(x, y) returns 7*x + 13*y + c, c counting host calls from 1
 * (reset per call), as in the shared fixtures' README. Prints one line per
 * call: "result R calls C".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

typedef long (*host_fn)(long, long);
typedef long (*entry_fn)(long, long, host_fn);

static long calls;

static long host(long x, long y) { return 7 * x + 13 * y + ++calls; }

int main(int argc, char **argv) {
  if (argc < 4 || (argc - 4) % 3 != 0) {
    fprintf(stderr, "usage: calltext OBJECT TEXT_OFFSET TEXT_SIZE [FN_OFFSET A B]...\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  off_t off = (off_t)strtoull(argv[2], NULL, 0);
  size_t size = (size_t)strtoull(argv[3], NULL, 0);
  unsigned char *text = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, off);
  if (text == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  for (int i = 4; i < argc; i += 3) {
    size_t at = (size_t)strtoull(argv[i], NULL, 0);
    long a = strtol(argv[i + 1], NULL, 0), b = strtol(argv[i + 2], NULL, 0);
    calls = 0;
    long r = ((entry_fn)(void *)(text + at))(a, b, host);
    printf("result %ld calls %ld\n", r, calls);
  }
  return 0;
}

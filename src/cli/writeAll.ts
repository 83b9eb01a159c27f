/**
 * Writing a whole buffer to a file descriptor, synchronously, also when it
 * is a non-blocking pipe. Node makes standard output non-blocking as soon as
 * `process.stdout` is touched, and a parent process may have made the pipe
 * so; a write then fails with EAGAIN whenever the reader is behind (the
 * pipe holds 64 KiB), which the CLI reported as "cannot write standard
 * output" for any object larger than that, read slowly.
 */
import { writeSync } from "node:fs";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block the thread for `ms` milliseconds (no event loop: the write loop is synchronous). */
const pause = (ms: number): void => {
  Atomics.wait(sleeper, 0, 0, ms);
};

/** Write all of `bytes` to `fd`; while the descriptor would block, wait 1, 2, 4 … up to 16 ms and try again. */
export const writeAll = (fd: number, bytes: Uint8Array): void => {
  let off = 0;
  let wait = 1;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
      wait = 1;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      pause(wait);
      wait = Math.min(2 * wait, 16);
    }
  }
};

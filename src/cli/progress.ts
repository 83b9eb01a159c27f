/**
 * Progress for long encodes, on a terminal only: functions and bytes read so
 * far and the rate, redrawn on one line of standard error at most 4 times a
 * second and once at the end; nothing at all when standard error is not a
 * terminal.
 */
export interface Progress {
  line(text: string): void;
  done(): void;
}

const MiB = 1024 * 1024;

export const progress = (stream: NodeJS.WriteStream, now: () => number = Date.now): Progress => {
  if (!stream.isTTY) return { line: () => undefined, done: () => undefined };
  const start = now();
  let lines = 0;
  let bytes = 0;
  let functions = 0;
  const draw = () => {
    const secs = Math.max((now() - start) / 1000, 1e-3);
    stream.write(`\robjfold: ${functions} functions, ${(bytes / MiB).toFixed(1)} MiB read, ${Math.round(lines / secs)} lines/s, ${(bytes / MiB / secs).toFixed(1)} MiB/s\x1b[K`);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    line(text: string) {
      lines++;
      bytes += text.length + 1;
      // Cheap test, no parse: an item line with "function" in its type.
      if (text.includes('"function"')) functions++;
    },
    done() {
      clearInterval(timer);
      // The last state, so a short run on a terminal shows what it read too.
      draw();
      stream.write("\n");
    },
  };
};

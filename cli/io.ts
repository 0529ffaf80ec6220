import pc from 'picocolors';

/**
 * Where a command writes. The bin passes the process's streams; tests pass buffers. Colours and
 * progress bars only when stdout is a terminal (and NO_COLOR is unset).
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal */
  tty: boolean;
  /** the stream progress bars draw on (a TTY), when there is one */
  barStream?: NodeJS.WriteStream;
  /** asks a question on the terminal and returns the answer; absent when stdin is not a terminal */
  ask?: (question: string) => Promise<string>;
}

export function processIo(): Io {
  const tty = !!process.stdout.isTTY;
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    tty,
    ...(tty ? { barStream: process.stdout } : {}),
    ...(process.stdin.isTTY
      ? {
          ask: async (question: string) => {
            const { createInterface } = await import('node:readline/promises');
            const prompt = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return await prompt.question(question);
            } finally {
              prompt.close();
            }
          },
        }
      : {}),
  };
}

/** An Io that keeps everything written, for tests and for `--json` capture. */
export function bufferIo(): Io & { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    tty: false,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

export type Colors = ReturnType<typeof pc.createColors>;

export function colors(io: Io): Colors {
  return pc.createColors(io.tty && !process.env.NO_COLOR);
}

/** Left-aligned columns, two spaces apart, like `convox apps`. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return `${[format(header), ...rows.map(format)].join('\n')}\n`;
}

export function json(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** "3m ago", "2h ago", "5d ago" */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

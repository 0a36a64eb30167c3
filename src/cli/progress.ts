// Progress of long work on stderr: a one-line bar redrawn in place in a terminal. Work that runs for minutes
// (bench) also prints plain lines in logs and CI (no terminal), one per tenth of the work, so a long run shows
// it is alive without flooding the log; short work (loading, prefill) prints nothing there.

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr); its isTTY picks the bar or plain lines. */
  out?: ProgressSink;
  /** Without a terminal, print a line per tenth of the work (default false: nothing). */
  lines?: boolean;
  /** Wall clock in ms (tests pass their own). */
  now?: () => number;
}

export class ProgressBar {
  private readonly out: ProgressSink;
  private readonly tty: boolean;
  private readonly lines: boolean;
  private readonly now: () => number;
  private readonly start: number;
  private last = 0;
  /** Lines mode: the tenth of the work last reported (-1: none yet). */
  private lastStep = -1;

  constructor(
    private readonly label: string,
    opts: ProgressOptions = {},
  ) {
    this.out = opts.out ?? process.stderr;
    this.tty = this.out.isTTY === true;
    this.lines = opts.lines ?? false;
    this.now = opts.now ?? Date.now;
    this.start = this.now();
  }

  update(done: number, total: number, unit = ''): void {
    const now = this.now();
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 && frac < 1 ? ` eta ${Math.ceil((elapsed / frac) * (1 - frac))}s` : '';
    if (!this.tty) {
      const step = Math.floor(frac * 10);
      if (!this.lines || step <= this.lastStep) return;
      this.lastStep = step;
      this.out.write(`${this.label}: ${done}/${total}${unit} (${(frac * 100).toFixed(0)}%)${eta}\n`);
      return;
    }
    if (now - this.last < 80 && done < total) return;
    this.last = now;
    const width = 30;
    const filled = Math.round(frac * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.out.write(
      `\r${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}${unit}${eta}\x1b[K`,
    );
  }

  done(): void {
    if (this.tty) this.out.write('\r\x1b[K');
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/**
 * Progress on stderr: a redrawn bar on a TTY, plain throttled lines otherwise (logs, CI). Silent when disabled.
 * `unit` says what is counted (e.g. "network × repeat evaluations"), so a count never reads as a network count.
 */
export class Progress {
  private readonly tty: boolean;
  private lastPrint = 0;
  private readonly start = Date.now();
  private lastDone = -1;

  constructor(
    private readonly label: string,
    private readonly enabled = true,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly unit = '',
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, total: number): void {
    if (!this.enabled || done === this.lastDone) return;
    this.lastDone = done;
    const now = Date.now();
    const final = done >= total;
    if (!final && now - this.lastPrint < (this.tty ? 100 : 5000)) return;
    this.lastPrint = now;
    const secs = (now - this.start) / 1000;
    const rate = done / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (total - done) / rate : 0;
    const pct = total > 0 ? (100 * done) / total : 100;
    if (this.tty) {
      const width = 30;
      const fill = Math.round((width * done) / Math.max(total, 1));
      this.stream.write(
        `\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total}${this.unit ? ` ${this.unit}` : ''} ${pct.toFixed(1)}% ${rateText(rate)} ${secs.toFixed(1)}s eta ${eta.toFixed(0)}s  `,
      );
      if (final) this.stream.write('\n');
    } else {
      this.stream.write(
        `${this.label}: ${done}/${total}${this.unit ? ` ${this.unit}` : ''} (${pct.toFixed(1)}%) ${rateText(rate)} elapsed ${secs.toFixed(1)}s eta ${eta.toFixed(0)}s\n`,
      );
    }
  }
}

/** Items per second, with enough digits for slow items (0.35/s) and fast ones (120/s). */
function rateText(rate: number): string {
  return `${rate >= 10 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(2)}/s`;
}

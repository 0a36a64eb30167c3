// Streams text while watching for stop strings: text that could still turn into a stop string is held back
// until it is clear, so a caller never sees part of a stop sequence.

export class StopMatcher {
  private pending = '';
  stopped = false;

  constructor(private readonly stops: readonly string[]) {
    if (stops.some((s) => s.length === 0)) throw new RangeError('stop strings must not be empty');
  }

  /** Adds generated text; returns what can be emitted now. Sets `stopped` once a stop string appears. */
  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** Whatever was held back, once generation ends without a stop string. */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }
}

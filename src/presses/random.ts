// Random eviction (seeded): the floor any scoring method must beat.
import { Rng } from '../generate/sampler.js';
import type { LayerState } from './press.js';
import { type ScoredOptions, ScoredPress } from './scored.js';

export interface RandomOptions extends ScoredOptions {
  seed?: number;
}

export class RandomPress extends ScoredPress {
  readonly name = 'random';
  private rng: Rng;
  constructor(private readonly o: RandomOptions) {
    super(o, 'random', 0);
    this.rng = new Rng(o.seed ?? 0);
  }
  protected score(state: LayerState, head: number): ArrayLike<number> {
    return Float64Array.from({ length: state.length(head) }, () => this.rng.next());
  }
  reset(): void {
    this.rng = new Rng(this.o.seed ?? 0);
  }
}

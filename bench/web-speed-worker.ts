// The browser side of bench/web-speed.ts: a module worker (the kernel pool blocks in Atomics.wait, which a
// page's main thread may not) that runs measureSpeed on the browser build's Model and posts the result back.
import { Model } from '../src/api.js';
import { measureSpeed, type SpeedOptions } from './web-speed-run.js';

const scope = globalThis as unknown as {
  onmessage: ((e: { data: SpeedOptions }) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  measureSpeed(Model.load, e.data).then(
    (speed) => scope.postMessage({ speed }),
    (err: Error) => scope.postMessage({ error: err.message }),
  );
};

// Load test for `kvsieve serve`: N concurrent streaming chat requests on loopback; reports latency and
// time-to-first-token percentiles, tokens/s, and whether every request either completed or was refused
// cleanly (429 with an OpenAI error object). Exits 1 otherwise.
//
//   node --import tsx bench/load.ts [--n 32] [--max-tokens 64] [--concurrency 1] [--max-queue 16]
//                                   [--model FILE | --url http://127.0.0.1:PORT] [--press NAME --ratio R]
//                                   [--threads 2] [--timeout 120] [--json]
//
// Without --url it starts `kvsieve serve` as a child process on a free port (with a small random-weight model
// unless --model is given) and stops it afterwards, so client and server do not share an event loop.
//
//   node --import tsx bench/load.ts --hostile [--seconds 10] [--json]
//
// measures instead whether hostile requests stall other users: a prober sends GET /v1/models every 20 ms
// and small streaming chats back to back, first alone, then while bench/hostile-mix.ts (its own process)
// sends 3.9 MB prompts, 3.8 MB of JSON nesting, two million token ids, prompts that must be tokenized before
// they can be refused, 20k-message conversations and cross-site POSTs, with slow bodies and idle connections
// held open: one hostile request at a time, then a flood of them. It reports the prober's time to first byte
// in each phase and the delay added (goal: one hostile request at a time adds at most 100 ms), and exits 1
// if any hostile request got a 5xx.
import { type ChildProcess, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serverBenchModel } from './models.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '32' },
    'max-tokens': { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '1' },
    'max-queue': { type: 'string', default: '16' },
    model: { type: 'string' },
    url: { type: 'string' },
    press: { type: 'string' },
    ratio: { type: 'string' },
    threads: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '120' },
    json: { type: 'boolean' },
    hostile: { type: 'boolean' },
    seconds: { type: 'string', default: '10' },
  },
});

function whole(name: keyof typeof values, min: number, max: number): number {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`--${name} must be ${min}..${max}`);
  return v;
}
const N = whole('n', 1, 1000);
const maxTokens = whole('max-tokens', 1, 4096);
const timeoutMs = whole('timeout', 1, 3600) * 1000;

type Outcome = 'ok' | 'refused' | 'failed';

interface Result {
  outcome: Outcome;
  /** From sending the request to the end of the response. */
  latencyMs: number;
  /** To the first generated text (ok requests). */
  firstTokenMs?: number;
  completionTokens: number;
  detail?: string;
}

/** Starts `kvsieve serve` on a free loopback port; resolves with its URL once it listens. */
function startServer(model: string): Promise<{ url: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'serve', '-m', model, '--port', '0', '--quiet'];
  args.push('--threads', String(values.threads), '--concurrency', String(values.concurrency));
  args.push('--max-queue', String(values['max-queue']));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      err += d;
      const m = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (m) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`kvsieve serve exited with ${code}: ${err.trim()}`)));
  });
}

/** One streaming chat request; never rejects: every way it can end is an outcome. */
function chat(url: string, i: number, signal: AbortSignal): Promise<Result> {
  const body = JSON.stringify({
    messages: [{ role: 'user', content: `Request ${i}: tell me a story about the number ${i}.` }],
    max_tokens: maxTokens,
    temperature: 0.8,
    seed: i,
    stream: true,
    stream_options: { include_usage: true },
    ...(values.press ? { kvsieve: { press: values.press, ratio: Number(values.ratio ?? 4) } } : {}),
  });
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (r: Omit<Result, 'latencyMs'>) => resolve({ ...r, latencyMs: performance.now() - t0 });
    const req = request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal,
    });
    req.on('error', (e) => done({ outcome: 'failed', completionTokens: 0, detail: e.message }));
    req.on('response', (res) => {
      let text = '';
      let firstTokenMs: number | undefined;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        firstTokenMs ??= text.includes('"content":"') ? performance.now() - t0 : undefined;
      });
      res.on('error', (e) => done({ outcome: 'failed', completionTokens: 0, detail: e.message }));
      res.on('end', () => {
        if (res.statusCode === 429) {
          // Refused cleanly means: an OpenAI error object saying the queue is full.
          const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          done({ outcome: code === 'queue_full' ? 'refused' : 'failed', completionTokens: 0, detail: text });
          return;
        }
        const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
        const finished = events.at(-1) === 'data: [DONE]' && /"finish_reason":"(stop|length)"/.test(text);
        const usage = /"completion_tokens":(\d+)/.exec(text);
        done({
          outcome: res.statusCode === 200 && finished ? 'ok' : 'failed',
          firstTokenMs,
          completionTokens: usage ? Number(usage[1]) : 0,
          detail: finished ? undefined : `status ${res.statusCode}: ${text.slice(-300)}`,
        });
      });
    });
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Percentiles in whole ms; null when there is nothing to summarise. */
function summary(xs: number[]): Record<string, number> | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x);
  return {
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1]),
  };
}

/** Time to the response's first byte (its status line) of one request. */
function firstByte(url: string, method: string, path: string, body?: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const ms = performance.now() - t0;
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(ms) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.end(body);
  });
}

interface Probes {
  modelsMs: number[];
  chatFirstTokenMs: number[];
  /** The server's own account of how long its serving thread was held up during the probes. */
  loopDelayMs: { p50: number; p99: number; max: number };
}

/** GET /v1/kvsieve/stats's event-loop delay since the previous stats request (which this one resets). */
async function loopDelay(url: string): Promise<Probes['loopDelayMs']> {
  const res = await fetch(`${url}/v1/kvsieve/stats`);
  return ((await res.json()) as { event_loop_delay_ms: Probes['loopDelayMs'] }).event_loop_delay_ms;
}

/** Probes for `seconds`: GET /v1/models every 20 ms, and small streaming chats back to back. */
async function probe(url: string, seconds: number): Promise<Probes> {
  await loopDelay(url);
  const end = performance.now() + seconds * 1000;
  const out: Probes = { modelsMs: [], chatFirstTokenMs: [], loopDelayMs: { p50: 0, p99: 0, max: 0 } };
  const deadline = AbortSignal.timeout(seconds * 1000 + 60_000);
  const models = (async () => {
    while (performance.now() < end) {
      out.modelsMs.push(await firstByte(url, 'GET', '/v1/models'));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const chats = (async () => {
    for (let i = 0; performance.now() < end; i++) {
      const r = await chat(url, i, deadline);
      if (r.outcome !== 'ok' || r.firstTokenMs === undefined)
        throw new Error(`a probe chat failed: ${r.detail}`);
      out.chatFirstTokenMs.push(r.firstTokenMs);
    }
  })();
  await Promise.all([models, chats]);
  out.loopDelayMs = await loopDelay(url);
  return out;
}

/** Runs the hostile mix in `mode` for `seconds` while probing; returns the probes and what the attack got. */
async function underAttack(
  url: string,
  mode: 'one' | 'flood',
  seconds: number,
  context: number,
): Promise<{ probes: Probes; outcomes: Record<string, Record<string, number>> }> {
  const attacker = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/hostile-mix.ts', url, String(seconds), String(context), mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  attacker.stdout?.setEncoding('utf8');
  attacker.stdout?.on('data', (d: string) => {
    out += d;
  });
  const done = new Promise<void>((resolve) => attacker.on('exit', () => resolve()));
  // Let the attack get going (its bodies are built first) before measuring under it.
  await new Promise((r) => setTimeout(r, 1500));
  const probes = await probe(url, seconds - 2.5);
  await done;
  return { probes, outcomes: JSON.parse(out || '{}') as Record<string, Record<string, number>> };
}

async function hostile(url: string): Promise<void> {
  const seconds = whole('seconds', 4, 600);
  const context = 1024; // serverBenchModel's
  const warm = await chat(url, -1, AbortSignal.timeout(timeoutMs));
  if (warm.outcome !== 'ok') throw new Error(`the warm-up request failed: ${warm.detail}`);
  const baseline = await probe(url, seconds / 2);
  const one = await underAttack(url, 'one', seconds, context);
  const flood = await underAttack(url, 'flood', seconds, context);
  const serverErrors = [one, flood].reduce(
    (n, phase) =>
      n +
      Object.values(phase.outcomes).reduce(
        (m, o) => m + Object.entries(o).reduce((k, [code, v]) => k + (code.startsWith('5') ? v : 0), 0),
        0,
      ),
    0,
  );
  const base = summary(baseline.modelsMs);
  const phase = (p: Probes) => {
    const s = summary(p.modelsMs);
    return {
      modelsFirstByteMs: s,
      chatFirstTokenMs: summary(p.chatFirstTokenMs),
      probes: p.modelsMs.length,
      addedDelayMs: s && base ? { max: s.max - base.p50, p99: s.p99 - base.p99 } : null,
      serverLoopDelayMs: p.loopDelayMs,
    };
  };
  const oneAtATime = phase(one.probes);
  const report = {
    seconds,
    context,
    baseline: {
      modelsFirstByteMs: base,
      chatFirstTokenMs: summary(baseline.chatFirstTokenMs),
      serverLoopDelayMs: baseline.loopDelayMs,
    },
    oneAtATime,
    flood: phase(flood.probes),
    goalMs: 100,
    // The goal is about what any one request costs others: judged with one hostile request at a time, by the
    // longest the server's thread was held up (the prober's numbers include the machine's other load).
    goalMet: oneAtATime.serverLoopDelayMs.max <= 100,
    attack: { oneAtATime: one.outcomes, flood: flood.outcomes },
    serverErrors,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const line = (name: string, s: Record<string, number> | null) =>
      `${name.padEnd(40)} ${s ? `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max}` : 'none'}\n`;
    const loop = (p: { serverLoopDelayMs: Probes['loopDelayMs'] }) =>
      `${p.serverLoopDelayMs.p99}/${p.serverLoopDelayMs.max} ms`;
    const added = (p: ReturnType<typeof phase>) =>
      p.addedDelayMs ? `max ${p.addedDelayMs.max} ms, p99 ${p.addedDelayMs.p99} ms` : 'n/a';
    process.stdout.write(
      `hostile mix against a server with a ${context}-token context; first byte in ms\n` +
        line('GET /v1/models, alone', base) +
        line('GET /v1/models, one hostile at a time', oneAtATime.modelsFirstByteMs) +
        line('GET /v1/models, hostile flood', report.flood.modelsFirstByteMs) +
        line('chat first token, alone', report.baseline.chatFirstTokenMs) +
        line('chat first token, one hostile at a time', oneAtATime.chatFirstTokenMs) +
        line('chat first token, hostile flood', report.flood.chatFirstTokenMs) +
        `delay added to GET /v1/models: one at a time ${added(oneAtATime)}; flood ${added(report.flood)}\n` +
        `server thread held up at most (event-loop delay p99/max): alone ${loop(report.baseline)}, ` +
        `one at a time ${loop(oneAtATime)}, flood ${loop(report.flood)}\n` +
        `goal (one hostile request holds the server up at most 100 ms): ${report.goalMet ? 'met' : 'NOT met'}\n` +
        `attack, one at a time: ${JSON.stringify(one.outcomes)}\n` +
        `attack, flood: ${JSON.stringify(flood.outcomes)}\n` +
        `server errors (5xx) among hostile requests: ${serverErrors}\n`,
    );
  }
  if (serverErrors > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  let url = values.url;
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kvsieve-load-'));
  try {
    if (url === undefined) {
      ({ url, child } = await startServer(values.model ?? serverBenchModel(dir)));
    } else if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) {
      throw new RangeError('--url must be a loopback address: the load test stays on this machine');
    }
    if (values.hostile) {
      await hostile(url);
      return;
    }
    const deadline = AbortSignal.timeout(timeoutMs);
    // Every request listens to the one deadline.
    setMaxListeners(N + 1, deadline);
    // One request first, so the numbers are not the server's JIT warm-up and first template parse.
    const warm = await chat(url, -1, deadline);
    if (warm.outcome !== 'ok') throw new Error(`the warm-up request failed: ${warm.detail}`);
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: N }, (_, i) => chat(url as string, i, deadline)));
    const wallS = (performance.now() - t0) / 1000;

    const ok = results.filter((r) => r.outcome === 'ok');
    const failed = results.filter((r) => r.outcome === 'failed');
    const tokens = ok.reduce((n, r) => n + r.completionTokens, 0);
    const report = {
      requests: N,
      concurrency: Number(values.concurrency),
      maxQueue: Number(values['max-queue']),
      maxTokens,
      press: values.press ?? null,
      ok: ok.length,
      refused: results.filter((r) => r.outcome === 'refused').length,
      failed: failed.length,
      latencyMs: summary(ok.map((r) => r.latencyMs)),
      firstTokenMs: summary(ok.flatMap((r) => (r.firstTokenMs === undefined ? [] : [r.firstTokenMs]))),
      refusedLatencyMs: summary(results.filter((r) => r.outcome === 'refused').map((r) => r.latencyMs)),
      completionTokens: tokens,
      wallSeconds: Number(wallS.toFixed(2)),
      tokensPerSecond: Number((tokens / wallS).toFixed(1)),
      allCompletedOrRefused: failed.length === 0,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const line = (name: string, s: Record<string, number> | null) =>
        `${name.padEnd(20)} ${s ? `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max}` : 'none'}\n`;
      process.stdout.write(
        `${N} streaming chat requests, max_tokens ${maxTokens}, server concurrency ${report.concurrency}, ` +
          `queue ${report.maxQueue}${values.press ? `, press ${values.press}` : ''}\n` +
          `ok ${report.ok}, refused (429) ${report.refused}, failed ${report.failed}\n` +
          line('latency ms', report.latencyMs) +
          line('first token ms', report.firstTokenMs) +
          line('429 latency ms', report.refusedLatencyMs) +
          `${tokens} tokens in ${report.wallSeconds} s: ${report.tokensPerSecond} tokens/s\n` +
          `every request completed or was refused cleanly: ${report.allCompletedOrRefused ? 'yes' : 'NO'}\n`,
      );
    }
    for (const f of failed.slice(0, 5)) process.stderr.write(`failed: ${f.detail}\n`);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

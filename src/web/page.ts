// The page: model choice, press and cache type, document and question; the engine (src/web/engine-worker.ts)
// does the work in a worker and streams tokens back. State for tests and scripts is mirrored in data-*
// attributes: body[data-state] (idle, loading, ready, running, error), #answer[data-ids], #stats[data-stats].
// ?threads=N sets the threads, ?load=0 loads no model until asked, ?sw=0 registers no service worker.
import { KV_TYPE_NAMES } from '../cache/cache-type.js';
import type { FromEngine, ModelChoice, RunStats, ToEngine } from './protocol.js';
import { drawView, formatBytes } from './view.js';

const DEMO_MODEL = 'models/kvsieve-demo.gguf';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);
const button = (id: string) => $<HTMLButtonElement>(id);

const params = new URLSearchParams(location.search);
let engine: Worker | undefined;
let answer = '';
let ids: number[] = [];
let modelReady = false;

function setState(state: 'loading' | 'ready' | 'running' | 'error' | 'idle'): void {
  document.body.dataset.state = state;
  const busy = state === 'loading' || state === 'running';
  button('run').disabled = busy || !modelReady;
  button('passkey').disabled = busy || !modelReady;
  button('load').disabled = busy;
  button('stop').disabled = state !== 'running';
}

function showError(text: string | undefined): void {
  const box = $('error');
  box.hidden = text === undefined;
  box.textContent = text ?? '';
}

function send(m: ToEngine): void {
  engine?.postMessage(m);
}

function chosenModel(): ModelChoice | string {
  const kind = document.querySelector<HTMLInputElement>('input[name=model]:checked')?.value ?? 'demo';
  if (kind === 'file') {
    const file = input('model-file').files?.[0];
    return file ? { kind: 'file', file, name: file.name } : 'pick a .gguf file first';
  }
  if (kind === 'url') {
    const url = input('model-url').value.trim();
    return url ? { kind: 'url', url } : 'enter the model URL first';
  }
  return { kind: 'url', url: DEMO_MODEL };
}

function load(): void {
  const choice = chosenModel();
  if (typeof choice === 'string') {
    showError(choice);
    return;
  }
  showError(undefined);
  modelReady = false;
  setState('loading');
  $('model-info').textContent = `loading ${choice.kind === 'file' ? choice.name : choice.url}…`;
  const threads = Math.max(
    1,
    Math.floor(Number(input('threads').value) || navigator.hardwareConcurrency || 1),
  );
  send({ type: 'load', model: choice, threads });
}

function run(): void {
  showError(undefined);
  answer = '';
  ids = [];
  $('answer').textContent = '';
  delete $('answer').dataset.ids;
  delete $('stats').dataset.stats;
  $('stats').textContent = '';
  const press = select('press').value;
  setState('running');
  send({
    type: 'run',
    document: $<HTMLTextAreaElement>('document').value,
    question: input('question').value,
    press: press ? { name: press, ratio: Number(input('ratio').value) } : null,
    cacheType: {
      k: select('cache-k').value as (typeof KV_TYPE_NAMES)[number],
      v: select('cache-v').value as (typeof KV_TYPE_NAMES)[number],
    },
    maxTokens: Math.max(1, Math.floor(Number(input('max-tokens').value) || 32)),
  });
}

function showStats(s: RunStats): void {
  const stats = $('stats');
  stats.dataset.stats = JSON.stringify(s);
  stats.textContent =
    `${s.promptTokens} prompt tokens, ${s.generatedTokens} generated (${s.finishReason}) · ` +
    `prefill ${s.prefillTokensPerSecond.toFixed(0)} tok/s · decode ${s.decodeTokensPerSecond.toFixed(1)} tok/s · ` +
    `kept ${(s.keptFraction * 100).toFixed(1)}% · KV ${formatBytes(s.kvBytes)} (peak ${formatBytes(s.peakKvBytes)})`;
}

function onEngine(m: FromEngine): void {
  switch (m.type) {
    case 'progress': {
      const bar = $<HTMLProgressElement>('progress');
      bar.hidden = false;
      if (m.total) bar.value = m.done / m.total;
      else bar.removeAttribute('value');
      const what = m.phase === 'download' ? 'downloading' : 'loading weights';
      $('progress-text').textContent =
        `${what} ${formatBytes(m.done)}${m.total ? ` of ${formatBytes(m.total)}` : ''}`;
      return;
    }
    case 'loaded': {
      const i = m.info;
      modelReady = true;
      $<HTMLProgressElement>('progress').hidden = true;
      $('progress-text').textContent = '';
      $('model-info').textContent =
        `${i.name} · ${i.arch}, ${i.nLayers} layers × ${i.nKvHeads} KV heads, context ${i.contextLength} · ` +
        `${formatBytes(i.weightBytes)} of weights · ${i.backend}`;
      const presses = select('press');
      const chosen = presses.value || params.get('press') || '';
      presses.replaceChildren(new Option('none (full cache)', ''));
      for (const p of i.presses) {
        if (p.sizing === 'none') continue;
        const o = new Option(p.name, p.name);
        o.title = p.describe;
        presses.append(o);
      }
      presses.value = chosen;
      setState('ready');
      return;
    }
    case 'passkey':
      $<HTMLTextAreaElement>('document').value = m.document;
      input('question').value = m.question;
      $('passkey-info').textContent = `the key is ${m.answer}`;
      setState('ready');
      return;
    case 'prefill':
      $('stats').textContent = `prefill ${m.done} of ${m.total} tokens…`;
      return;
    case 'token':
      answer += m.text;
      if (m.id >= 0) ids.push(m.id);
      $('answer').textContent = answer;
      return;
    case 'done':
      $('answer').dataset.ids = m.ids.join(',');
      showStats(m.stats);
      drawView(m.view, $('summary'), $('legend'), $('grid'));
      setState('ready');
      return;
    case 'error':
      showError(m.message);
      if (m.during === 'load') {
        // The engine lets the old model go before it loads the next one.
        modelReady = false;
        $('model-info').textContent = 'no model loaded';
      }
      $<HTMLProgressElement>('progress').hidden = true;
      $('progress-text').textContent = '';
      setState(m.during === 'load' ? 'error' : 'ready');
      return;
  }
}

async function readDropped(e: DragEvent): Promise<void> {
  const file = e.dataTransfer?.files[0];
  if (!file) return;
  if (/\.gguf$/i.test(file.name)) {
    const picker = input('model-file');
    const list = new DataTransfer();
    list.items.add(file);
    picker.files = list.files;
    document.querySelector<HTMLInputElement>('input[name=model][value=file]')!.checked = true;
    load();
  } else {
    $<HTMLTextAreaElement>('document').value = await file.text();
  }
}

function start(): void {
  for (const id of ['cache-k', 'cache-v']) {
    for (const t of KV_TYPE_NAMES) select(id).append(new Option(t, t, t === 'f16', t === 'f16'));
  }
  input('threads').value = params.get('threads') ?? String(navigator.hardwareConcurrency || 1);
  if (!crossOriginIsolated) {
    showError(
      'This page is not cross-origin isolated, so the model cannot share memory with its threads. Serve it ' +
        'with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" ' +
        '(npx kvsieve web does).',
    );
    setState('error');
    button('load').disabled = true;
    return;
  }
  engine = new Worker(new URL('engine-worker.js', import.meta.url), {
    type: 'module',
    name: 'kvsieve engine',
  });
  engine.onmessage = (e: MessageEvent<FromEngine>) => onEngine(e.data);
  engine.onerror = (e) => {
    showError(`the engine failed: ${e.message}`);
    setState('error');
  };
  button('load').addEventListener('click', load);
  button('run').addEventListener('click', run);
  button('stop').addEventListener('click', () => send({ type: 'stop' }));
  button('passkey').addEventListener('click', () => {
    setState('running');
    send({ type: 'passkey', tokens: Number(input('passkey-tokens').value) || 1024, digits: 5, seed: 1 });
  });
  input('model-file').addEventListener('change', () => {
    document.querySelector<HTMLInputElement>('input[name=model][value=file]')!.checked = true;
    load();
  });
  input('question').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !button('run').disabled) run();
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    void readDropped(e);
  });
  // Keeps this page and the demo model for use without a network (src/web/sw.ts).
  if ('serviceWorker' in navigator && params.get('sw') !== '0') {
    navigator.serviceWorker
      .register('sw.js')
      .catch((e: Error) => console.warn('no offline copy:', e.message));
  }
  // The demo model by default (?load=0: none until asked).
  if (params.get('load') !== '0') load();
  else setState('idle');
}

start();

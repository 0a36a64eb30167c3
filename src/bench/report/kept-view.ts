// The report's kept-token view: the shown sample's context, each token highlighted by whether the chosen
// (layer, KV head) kept it after compression, or shaded by the share of layers/heads that kept it ("all").
// The data rides in a JSON script element; a small inline script draws it (no external code).
import type { KeptView } from '../runner/kept.js';
import { formatLength } from '../runner/spec.js';
import type { SampleRecord } from '../runner/store.js';
import { seriesLabel } from './summary.js';
import { esc } from './svg.js';

interface ViewRun {
  label: string;
  keptFraction: number;
  masks: string[][];
  answer?: string;
  score?: number;
}

/** Inside a <script> element, `<` must not start `</script>`; JSON.parse reads `\u003c` back as `<`. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function keptSection(view: KeptView | undefined, records: readonly SampleRecord[]): string {
  if (view === undefined || Object.keys(view.runs).length === 0)
    return '<p>No kept-token data (kept.json) for this run.</p>';
  const s = view.sample;
  const runs: ViewRun[] = Object.values(view.runs).map((r) => {
    const rec = records.find(
      (x) =>
        x.promptHash === s.promptHash &&
        x.press === r.press &&
        x.ratio === r.ratio &&
        x.mode === r.mode &&
        (x.matchKept === true) === (r.matchKept === true),
    );
    const label = r.press === 'full' ? 'full' : `${seriesLabel(r)} ${r.ratio}×`;
    return { label, keptFraction: r.keptFraction, masks: r.masks, answer: rec?.answer, score: rec?.score };
  });
  const depth = s.depth === null ? '' : `, depth ${s.depth}`;
  return `<p>Sample ${s.index} of <b>${esc(s.task)}</b> at ${formatLength(s.length)} tokens${depth} (seed ${s.seed}, ${view.tokens.length} context tokens). Green: kept after the context's compression; grey: evicted. With “all”, the shade is the share of layers/heads that kept the token.</p>
<div class="kv-controls">
<label>press <select id="kv-run"></select></label>
<label>layer <select id="kv-layer"></select></label>
<label>KV head <select id="kv-head"></select></label>
</div>
<p id="kv-info"></p>
<div id="kv-text"></div>
<script type="application/json" id="kept-data">${scriptJson({ nLayers: view.nLayers, nKvHeads: view.nKvHeads, tokens: view.tokens, runs })}</script>
<script>${KEPT_SCRIPT}</script>`;
}

const KEPT_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('kept-data').textContent);
  var runSel = document.getElementById('kv-run');
  var layerSel = document.getElementById('kv-layer');
  var headSel = document.getElementById('kv-head');
  var info = document.getElementById('kv-info');
  var box = document.getElementById('kv-text');
  function option(sel, value, text) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    sel.appendChild(o);
  }
  data.runs.forEach(function (r, i) { option(runSel, String(i), r.label); });
  option(layerSel, 'all', 'all');
  for (var l = 0; l < data.nLayers; l++) option(layerSel, String(l), String(l));
  option(headSel, 'all', 'all');
  for (var h = 0; h < data.nKvHeads; h++) option(headSel, String(h), String(h));
  var spans = data.tokens.map(function (t) {
    var s = document.createElement('span');
    s.textContent = t;
    box.appendChild(s);
    return s;
  });
  var decoded = {};
  function bits(run, l, h) {
    var k = run + ':' + l + ':' + h;
    if (!decoded[k]) {
      var raw = atob(data.runs[run].masks[l][h]);
      var a = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) a[i] = raw.charCodeAt(i);
      decoded[k] = a;
    }
    return decoded[k];
  }
  function pick(sel, n) {
    if (sel.value !== 'all') return [Number(sel.value)];
    var all = [];
    for (var i = 0; i < n; i++) all.push(i);
    return all;
  }
  function render() {
    var run = Number(runSel.value);
    var masks = [];
    pick(layerSel, data.nLayers).forEach(function (l) {
      pick(headSel, data.nKvHeads).forEach(function (h) { masks.push(bits(run, l, h)); });
    });
    var kept = 0;
    spans.forEach(function (s, i) {
      var c = 0;
      masks.forEach(function (m) { if (m[i >> 3] & (1 << (i & 7))) c++; });
      var f = c / masks.length;
      kept += f;
      s.className = f === 0 ? 'ev' : 'kp';
      s.style.backgroundColor = f === 0 ? '' : 'rgba(46,160,67,' + (0.2 + 0.6 * f).toFixed(2) + ')';
    });
    var r = data.runs[run];
    info.textContent = r.label + ': ' + Math.round(kept) + ' of ' + spans.length + ' tokens kept here (' +
      (100 * kept / Math.max(1, spans.length)).toFixed(1) + '%), ' + (100 * r.keptFraction).toFixed(1) +
      '% over the whole cache' + (r.answer === undefined ? '' : '. Answer: ' + JSON.stringify(r.answer.trim()) +
      ', score ' + r.score.toFixed(2));
  }
  [runSel, layerSel, headSel].forEach(function (s) { s.addEventListener('change', render); });
  render();
})();
`;

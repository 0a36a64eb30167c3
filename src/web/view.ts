// The per-head kept-token view, as the server's page draws it: one strip per layer and KV head, x the position
// in the prompt and answer, coloured by the part the token came from where the head still keeps it, grey where
// it was evicted; a legend with each part's share still kept.
import type { CacheView } from './protocol.js';

type Segment = CacheView['segments'][number];

const HUES: Record<string, number> = { document: 215, question: 270, answer: 30 };

function colour(seg: Segment): string {
  if (seg.generated) return 'hsl(30 85% 55%)';
  return `hsl(${HUES[seg.role] ?? 0} 60% ${seg.index % 2 ? 45 : 60}%)`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function drawView(
  view: CacheView,
  summary: HTMLElement,
  legend: HTMLElement,
  grid: HTMLElement,
): void {
  const seen = Math.max(1, view.tokens_seen);
  summary.textContent =
    `${view.tokens_seen} tokens seen · ${(view.kept_fraction * 100).toFixed(1)}% kept · ` +
    `KV cache ${formatBytes(view.kv_bytes)}`;
  const heads = view.layers.flatMap((l) => l.heads);
  legend.replaceChildren();
  view.segments.forEach((seg, s) => {
    const size = seg.end - seg.start;
    const kept = heads.reduce((n, h) => n + h.by_segment[s], 0) / Math.max(1, heads.length);
    const item = document.createElement('span');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour(seg);
    const share = size ? Math.round((100 * kept) / size) : 100;
    item.append(swatch, `${seg.role}: ${share}% of ${size} tok`);
    legend.append(item);
  });
  const evicted = getComputedStyle(document.documentElement).getPropertyValue('--evicted');
  grid.replaceChildren();
  for (const layer of view.layers) {
    const box = document.createElement('div');
    box.className = 'layer';
    for (const head of layer.heads) {
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = `L${layer.layer} h${head.head}`;
      const canvas = document.createElement('canvas');
      canvas.width = 600;
      canvas.height = 10;
      canvas.title = view.segments.map((seg, s) => `${seg.role}: ${head.by_segment[s]}`).join(', ');
      const g = canvas.getContext('2d');
      if (g) {
        g.fillStyle = evicted;
        g.fillRect(0, 0, canvas.width, canvas.height);
        for (const seg of view.segments) {
          g.fillStyle = colour(seg);
          for (const [a, b] of head.ranges) {
            const start = Math.max(a, seg.start);
            const end = Math.min(b, seg.end);
            if (end <= start) continue;
            const x0 = (start / seen) * canvas.width;
            const x1 = (end / seen) * canvas.width;
            g.fillRect(x0, 0, Math.max(1, x1 - x0), canvas.height);
          }
        }
      }
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = `${head.kept} tok`;
      box.append(label, canvas, count);
    }
    grid.append(box);
  }
}

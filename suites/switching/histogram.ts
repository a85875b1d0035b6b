/**
 * Latency statistics and a histogram drawn as a standalone SVG, attached to a case as evidence so
 * the report shows the distribution as a picture (issue 9), not only p50/p99/max.
 */

/** The q-quantile (0..1) of `values` by the nearest-rank method; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface HistogramOptions {
  readonly title: string;
  /** Unit of the values, e.g. "min". */
  readonly unit: string;
  /** Width of a bin, in the values' unit. */
  readonly binWidth: number;
  /** A vertical line at this value (the limit), labelled. */
  readonly limit?: { readonly value: number; readonly label: string };
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Bin counts from 0 in steps of `binWidth`, wide enough for the largest value and the limit. */
export function binCounts(values: readonly number[], binWidth: number, atLeast = 0): number[] {
  const top = Math.max(atLeast, ...values, binWidth);
  const bins = new Array<number>(Math.ceil(top / binWidth) + (top % binWidth === 0 ? 1 : 0)).fill(0);
  for (const v of values) bins[Math.min(bins.length - 1, Math.max(0, Math.floor(v / binWidth)))]!++;
  return bins;
}

/** A bar chart of `values` in bins, with axes, counts and the limit line. */
export function histogramSvg(values: readonly number[], o: HistogramOptions): string {
  const bins = binCounts(values, o.binWidth, o.limit ? o.limit.value * 1.07 : 0);
  const W = 720;
  const H = 320;
  const left = 48;
  const right = 16;
  const top = 36;
  const bottom = 44;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const maxCount = Math.max(1, ...bins);
  const barW = plotW / bins.length;
  const x = (v: number) => left + (v / (bins.length * o.binWidth)) * plotW;
  const y = (c: number) => top + plotH - (c / maxCount) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(o.title)}</text>`);
  bins.forEach((c, i) => {
    if (c === 0) return;
    const bx = left + i * barW;
    parts.push(`<rect x="${bx.toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${(top + plotH - y(c)).toFixed(1)}" fill="#4a7ebb"><title>${i * o.binWidth}-${(i + 1) * o.binWidth} ${esc(o.unit)}: ${c}</title></rect>`);
  });
  // Axes and ticks.
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="black"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>`);
  const span = bins.length * o.binWidth;
  const step = Math.max(o.binWidth, Math.ceil(span / 10 / o.binWidth) * o.binWidth);
  for (let v = 0; v <= span; v += step) {
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${top + plotH}" x2="${x(v).toFixed(1)}" y2="${top + plotH + 4}" stroke="black"/>`);
    parts.push(`<text x="${x(v).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${v}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${H - 8}" text-anchor="middle">${esc(o.unit)}</text>`);
  for (const c of [0, Math.ceil(maxCount / 2), maxCount]) {
    parts.push(`<text x="${left - 6}" y="${(y(c) + 4).toFixed(1)}" text-anchor="end">${c}</text>`);
  }
  if (o.limit) {
    const lx = x(o.limit.value).toFixed(1);
    parts.push(`<line x1="${lx}" y1="${top}" x2="${lx}" y2="${top + plotH}" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 3"/>`);
    parts.push(`<text x="${lx}" y="${top - 4}" text-anchor="middle" fill="#c0392b">${esc(o.limit.label)}</text>`);
  }
  parts.push(`<text x="${W - right}" y="${top + 12}" text-anchor="end">n = ${values.length}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

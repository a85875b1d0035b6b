/**
 * The day of a collection run as pictures (issue 12: "the report draws the day"): the success rate
 * per meter kind against its limit, and the collection timeline per concentrator (each port's
 * reading window from the 00:05 start, against the 04:00 deadline). Plain SVG text, attached to a
 * case as evidence (`image/svg+xml`), which Allure shows inline; no charting library, no fonts
 * beyond the viewer's sans-serif. Pure functions: the same data give the same bytes.
 */

/** One bar of the success-rate chart (COL-01). */
export interface SuccessRateBar {
  readonly label: string;
  readonly due: number;
  readonly collected: number;
  readonly firstAttempt: number;
  /** The limit in percent (99.5 for electricity, 98 for water, gas and heat: GAP-01). */
  readonly limitPct: number;
}

/** One concentrator's lanes in the timeline: a lane per port. */
export interface TimelineConcentrator {
  readonly name: string;
  readonly ports: readonly { readonly label: string; readonly startMs: number; readonly endMs: number; readonly lineTimeMs?: number }[];
}

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const pct = (num: number, den: number): number => (den === 0 ? 100 : (100 * num) / den);

/** Success rate per kind: collected (and first-attempt) share of due, with the limit drawn on each bar. */
export function successRateSvg(title: string, bars: readonly SuccessRateBar[]): string {
  const barW = 70;
  const gap = 40;
  const left = 50;
  const top = 40;
  const plotH = 200;
  const width = left + Math.max(1, bars.length) * (barW + gap) + 20;
  const height = top + plotH + 70;
  // The scale starts at 90 % so that 98 % and 99.5 % are told apart; below it a bar is clipped and says so.
  const floor = 90;
  const y = (p: number): number => top + plotH - (Math.max(floor, Math.min(100, p)) - floor) * (plotH / (100 - floor));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const p of [90, 92, 94, 96, 98, 100]) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(p)}" y2="${y(p)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end">${p} %</text>`);
  }
  bars.forEach((b, i) => {
    const x = left + gap / 2 + i * (barW + gap);
    const rate = pct(b.collected, b.due);
    const first = pct(b.firstAttempt, b.due);
    const ok = rate >= b.limitPct;
    parts.push(
      `<rect x="${x}" y="${y(rate)}" width="${barW}" height="${top + plotH - y(rate)}" fill="${ok ? '#4c9a2a' : '#c0392b'}"><title>${escapeXml(`${b.label}: ${b.collected}/${b.due} collected (${fmt(rate, 2)} %), ${b.firstAttempt} on the first attempt (${fmt(first, 2)} %), limit ${b.limitPct} %`)}</title></rect>`,
      `<line x1="${x + 4}" x2="${x + barW - 4}" y1="${y(first)}" y2="${y(first)}" stroke="#1f4e79" stroke-width="2" stroke-dasharray="4 2"/>`,
      `<line x1="${x - 6}" x2="${x + barW + 6}" y1="${y(b.limitPct)}" y2="${y(b.limitPct)}" stroke="#000" stroke-width="2"/>`,
      `<text x="${x + barW / 2}" y="${y(rate) - 4}" text-anchor="middle">${fmt(rate, 2)} %${rate < floor ? ' ↓' : ''}</text>`,
      `<text x="${x + barW / 2}" y="${top + plotH + 16}" text-anchor="middle">${escapeXml(b.label)}</text>`,
      `<text x="${x + barW / 2}" y="${top + plotH + 30}" text-anchor="middle" fill="#555">${b.collected}/${b.due}</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${height - 8}" fill="#555">bar: collected ÷ due; dashed: first attempt; black: limit (COL-01, GAP-01)</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

/**
 * The collection timeline: one lane per port of each concentrator, a bar from its first to its last
 * exchange, on a time axis from `fromMs` to past `deadlineMs` (04:00, GAP-02), the deadline drawn.
 * `lineTimeMs` (the line-time lower bound of the port's exchanges) is drawn inside the bar.
 */
export function timelineSvg(title: string, concentrators: readonly TimelineConcentrator[], fromMs: number, deadlineMs: number, utcOffsetMinutes = 480): string {
  const lanes = concentrators.flatMap((c) => c.ports.map((p) => ({ c: c.name, ...p })));
  const lastEnd = Math.max(deadlineMs, ...lanes.map((l) => l.endMs));
  const toMs = fromMs + Math.ceil((lastEnd - fromMs) / 3_600_000) * 3_600_000 + 1_800_000;
  const left = 190;
  const top = 40;
  const laneH = 16;
  const plotW = 560;
  const width = left + plotW + 30;
  const height = top + Math.max(1, lanes.length) * laneH + 50;
  const x = (ms: number): number => left + ((Math.min(toMs, Math.max(fromMs, ms)) - fromMs) / (toMs - fromMs)) * plotW;
  const clock = (ms: number): string => new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(11, 16);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const axisY = top + lanes.length * laneH + 4;
  for (let t = fromMs; t <= toMs; t += 3_600_000) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${axisY}" stroke="#eee"/>`, `<text x="${x(t)}" y="${axisY + 14}" text-anchor="middle">${clock(t)}</text>`);
  }
  lanes.forEach((l, i) => {
    const yy = top + i * laneH;
    const late = l.endMs > deadlineMs;
    parts.push(
      `<text x="${left - 6}" y="${yy + 11}" text-anchor="end">${escapeXml(`${l.c} · ${l.label}`)}</text>`,
      `<rect x="${x(l.startMs)}" y="${yy + 2}" width="${Math.max(1, x(l.endMs) - x(l.startMs))}" height="${laneH - 4}" fill="${late ? '#c0392b' : '#5b8bd0'}"><title>${escapeXml(`${l.c} ${l.label}: ${clock(l.startMs)}-${clock(l.endMs)}${l.lineTimeMs !== undefined ? `, line time ${fmt(l.lineTimeMs / 60_000)} min` : ''}`)}</title></rect>`,
    );
    if (l.lineTimeMs !== undefined) {
      parts.push(`<rect x="${x(l.startMs)}" y="${yy + 6}" width="${Math.max(1, x(l.startMs + l.lineTimeMs) - x(l.startMs))}" height="${laneH - 12}" fill="#1f3f6e"/>`);
    }
  });
  parts.push(
    `<line x1="${x(deadlineMs)}" x2="${x(deadlineMs)}" y1="${top - 8}" y2="${axisY}" stroke="#c0392b" stroke-width="2"/>`,
    `<text x="${x(deadlineMs) + 4}" y="${top - 10}" fill="#c0392b">deadline ${clock(deadlineMs)}</text>`,
    `<text x="10" y="${height - 8}" fill="#555">bar: first to last exchange on the port; dark inner bar: its line-time lower bound; red: past the deadline (COL-03, GAP-02)</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

/** One quantity of a day curve (COL-12): point i at 00:00 + i x intervalMinutes; null = no data. */
export interface CurveSeries {
  readonly label: string;
  readonly unit: string;
  readonly points: readonly (number | null)[];
  /** The meter's own values, drawn under the collected ones (same grid); a point that differs is marked. */
  readonly expected?: readonly (number | null)[];
}

/**
 * A meter's day curves, one panel per quantity (energy reading, power, voltage): the collected points
 * as a line, the meter's own records as a wider grey line under it, a red mark where they differ or
 * where the meter had a record and nothing was collected. Hours on the x axis.
 */
export function curveSvg(title: string, series: readonly CurveSeries[], intervalMinutes: number): string {
  const left = 70;
  const top = 34;
  const panelH = 110;
  const gap = 36;
  const plotW = 480;
  // Wide enough for the title (about 7 px a character at 13 px bold).
  const width = Math.max(left + plotW + 30, left + 10 + Math.ceil(title.length * 7.5));
  const height = top + series.length * (panelH + gap) + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const perDay = Math.max(1, Math.round(1440 / intervalMinutes));
  const x = (i: number): number => left + (i / perDay) * plotW;
  series.forEach((s, k) => {
    const y0 = top + k * (panelH + gap);
    const values = [...s.points, ...(s.expected ?? [])].filter((v): v is number => v !== null && Number.isFinite(v));
    const lo = values.length ? Math.min(...values) : 0;
    const hi = values.length ? Math.max(...values) : 1;
    const span = hi - lo || Math.max(1, Math.abs(hi));
    const y = (v: number): number => y0 + panelH - ((v - lo) / span) * panelH;
    parts.push(
      `<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH}" fill="none" stroke="#ccc"/>`,
      `<text x="${left - 6}" y="${y0 + 10}" text-anchor="end">${fmt(hi, 2)}</text>`,
      `<text x="${left - 6}" y="${y0 + panelH}" text-anchor="end">${fmt(lo, 2)}</text>`,
      `<text x="${left + 4}" y="${y0 - 4}" font-weight="bold">${escapeXml(`${s.label} (${s.unit})`)}</text>`,
    );
    for (let h = 0; h <= 24; h += 6) parts.push(`<text x="${x((h * 60) / intervalMinutes)}" y="${y0 + panelH + 13}" text-anchor="middle" fill="#555">${String(h).padStart(2, '0')}:00</text>`);
    const line = (pts: readonly (number | null)[], attrs: string): void => {
      let d = '';
      pts.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        d += `${d === '' || pts[i - 1] === null || pts[i - 1] === undefined ? 'M' : 'L'}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      });
      if (d !== '') parts.push(`<path d="${d.trim()}" fill="none" ${attrs}/>`);
    };
    if (s.expected) line(s.expected, 'stroke="#bbb" stroke-width="5"');
    line(s.points, 'stroke="#1f4e79" stroke-width="1.5"');
    if (s.expected) {
      s.expected.forEach((want, i) => {
        const got = s.points[i] ?? null;
        const differs = want === null ? got !== null : got === null || Math.abs(got - want) > 1e-6 * Math.max(1, Math.abs(want));
        if (differs) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(want ?? got ?? lo).toFixed(1)}" r="3" fill="#c0392b"><title>${escapeXml(`point ${i}: collected ${got ?? 'nothing'}, the meter ${want ?? 'nothing'}`)}</title></circle>`);
      });
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

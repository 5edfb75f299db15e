// The consumer benchmark's chart: one SVG, written by the benchmark from the figures of the run it just made.
// Three panels side by side (p99 latency, requests per second, calls that reached the upstream), a pair of
// horizontal bars per scenario (the protected variant above, the other below), log scales: the two variants
// are often two or three orders of magnitude apart.

const COLORS = { protected: '#16a34a', other: '#94a3b8' };
const FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'";

const escapeXml = (text) =>
  String(text).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

/** 1234 → "1,234"; 12.34 → "12.3"; 0.4 → "0.4". */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return '–';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, '');
  return value.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** The smallest power of ten at or above `value` (at least 10). */
const ceilPow10 = (value) => 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(value, 1))));

/**
 * @param {Array<{ title: string, bars: Array<{ label: string, protected: boolean, p99: number, rps: number, upstream: number } | { label: string, skipped: string }> }>} groups
 * @param {{ caption: string }} meta
 * @returns {string} the SVG document
 */
export function renderChart(groups, meta) {
  const panels = [
    { key: 'p99', title: 'p99 latency (ms)', unit: ' ms' },
    { key: 'rps', title: 'requests per second', unit: '' },
    { key: 'upstream', title: 'upstream calls', unit: '' },
  ];
  const labelWidth = 250;
  const panelWidth = 250;
  // Room right of the longest bar for its value.
  const valueRoom = 62;
  const gap = 20;
  const barHeight = 16;
  const rowGap = 4;
  const groupGap = 22;
  const top = 78;
  const width = labelWidth + panels.length * (panelWidth + gap);
  const groupHeight = (g) => 18 + g.bars.length * (barHeight + rowGap);
  const height = top + groups.reduce((sum, g) => sum + groupHeight(g) + groupGap, 0) + 34;

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="title" ${FONT} font-size="12">`,
    `<title id="title">Consumer under load: with and without protection, p99 latency, throughput and upstream calls per scenario</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="700" fill="#0f172a">examples/consumer under load (npm run bench:consumer)</text>`,
    `<text x="12" y="40" fill="#475569">${escapeXml(meta.caption)}</text>`,
    `<text x="12" y="56" fill="#475569">Log scales: the two variants of a scenario are often orders of magnitude apart.</text>`,
  );

  // Each panel's log scale spans 1 … the next power of ten above its largest value.
  const scales = panels.map((p) => {
    const values = groups.flatMap((g) => g.bars.filter((b) => !b.skipped).map((b) => b[p.key]));
    const max = ceilPow10(Math.max(...values, 1));
    return { max, x: (v) => (Math.log10(Math.max(v, 1)) / Math.log10(max)) * (panelWidth - valueRoom) };
  });

  panels.forEach((p, i) => {
    const x0 = labelWidth + i * (panelWidth + gap);
    out.push(`<text x="${x0}" y="${top - 6}" font-weight="700" fill="#0f172a">${escapeXml(p.title)}</text>`);
    const { max, x } = scales[i];
    for (let tick = 1; tick <= max; tick *= 10) {
      const tx = x0 + x(tick);
      out.push(
        `<line x1="${tx.toFixed(1)}" y1="${top}" x2="${tx.toFixed(1)}" y2="${height - 30}" stroke="#e2e8f0"/>`,
        `<text x="${tx.toFixed(1)}" y="${height - 16}" text-anchor="middle" fill="#64748b" font-size="10">${formatNumber(tick)}</text>`,
      );
    }
  });

  let y = top + 6;
  for (const g of groups) {
    out.push(`<text x="12" y="${y + 11}" font-weight="700" fill="#0f172a">${escapeXml(g.title)}</text>`);
    y += 18;
    for (const b of g.bars) {
      out.push(`<text x="24" y="${y + barHeight - 4}" fill="#334155">${escapeXml(b.label)}</text>`);
      panels.forEach((p, i) => {
        const x0 = labelWidth + i * (panelWidth + gap);
        if (b.skipped) {
          if (i === 0) out.push(`<text x="${x0}" y="${y + barHeight - 4}" fill="#b45309">skipped: ${escapeXml(b.skipped)}</text>`);
          return;
        }
        const value = b[p.key];
        const w = Math.max(1, scales[i].x(value));
        const color = b.protected ? COLORS.protected : COLORS.other;
        out.push(
          `<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" rx="2" fill="${color}"/>`,
          `<text x="${(x0 + w + 4).toFixed(1)}" y="${y + barHeight - 4}" fill="#0f172a" font-size="11">${formatNumber(value)}${p.unit}</text>`,
        );
      });
      y += barHeight + rowGap;
    }
    y += groupGap;
  }
  out.push(
    `<rect x="12" y="${height - 36}" width="10" height="10" fill="${COLORS.protected}"/><text x="26" y="${height - 27}" fill="#334155" font-size="11">with the breaker (or the cap)</text>`,
    `<rect x="12" y="${height - 20}" width="10" height="10" fill="${COLORS.other}"/><text x="26" y="${height - 11}" fill="#334155" font-size="11">without it</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

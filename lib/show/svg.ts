/**
 * Static SVG pictures of heatmaps, line charts and bar charts. They are what a reader sees where
 * scripts do not run (GitHub, untrusted notebooks, an HTML export without plotly.js); where
 * plotly.js is loaded, the interactive plot replaces them.
 *
 * @module
 */
import type { BarData, HeatmapData, LineData } from "./types.ts";
import {
  colorAt,
  type ColorRange,
  HIGHLIGHT,
  MISSING,
  normalize,
  PALETTE,
  rgbHex,
  scaleStops,
  textColorOn,
} from "./colors.ts";
import { displayWidth, escapeHtml, formatFixed, formatNumber, truncate } from "./text.ts";
import { resample } from "./textplot.ts";

/** Fonts for SVG text: Latin first, then CJK fonts common on Linux, macOS and Windows. */
const FONT_FAMILY =
  "'DejaVu Sans', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'PingFang SC', 'Microsoft YaHei', sans-serif";

const LABEL_SIZE = 11;

/** Approximate rendered width in px of `s` at `size` px (CJK characters count double). */
function textWidth(s: string, size = LABEL_SIZE): number {
  return displayWidth(s) * size * 0.62;
}

function r1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function svgText(
  x: number,
  y: number,
  s: string,
  attrs = "",
): string {
  return `<text x="${r1(x)}" y="${r1(y)}"${attrs ? " " + attrs : ""}>${escapeHtml(s)}</text>`;
}

function svgDoc(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${
    Math.ceil(height)
  }" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" font-family="${FONT_FAMILY}" ` +
    `font-size="${LABEL_SIZE}"><rect width="100%" height="100%" fill="white"/>` +
    body.join("") + "</svg>";
}

/** About `n` round tick values (steps of 1, 2 or 5 × 10ᵏ) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.round(v / step) * step);
  }
  return ticks;
}

/**
 * Ticks for a log axis spanning log₁₀ values [lo, hi], as log₁₀ values: the powers of ten,
 * with 2× and 5× added when fewer than three powers fall in the range.
 */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of [1, 2, 5]) {
      const t = k + Math.log10(m);
      if (t >= lo && t <= hi) out.push(t);
    }
  }
  const decades = out.filter(Number.isInteger);
  return decades.length >= 3 ? decades : out;
}

/** Picks labels for `n` resampled positions out of `labels`. */
function sampleLabels(labels: string[], n: number): string[] {
  return Array.from({ length: n }, (_, i) => labels[Math.floor((i * labels.length) / n)]);
}

/**
 * A heatmap: one `<rect class="c">` per cell (matrices beyond 128 rows or columns are averaged
 * down first), row and column labels (thinned when cells are small, rotated when long), the
 * values when asked and room allows, a title, axis titles and a colour bar.
 */
export function heatmapSvg(h: HeatmapData): string {
  const range: ColorRange = { zmin: h.zmin, zmax: h.zmax, scale: h.scale };
  const MAX = 128;
  const R0 = h.z.length;
  const C0 = h.z[0]?.length ?? 0;
  const R = Math.min(R0, MAX);
  const C = Math.min(C0, MAX);
  const z = resample(h.z, R, C);
  const xs = (C < C0 ? sampleLabels(h.x, C) : h.x).map((l) => truncate(l, 16));
  const ys = (R < R0 ? sampleLabels(h.y, R) : h.y).map((l) => truncate(l, 16));
  const cell = Math.max(
    2,
    Math.min(48, Math.floor(Math.min(560 / Math.max(C, 1), 480 / Math.max(R, 1)))),
  );
  const rowStep = Math.max(1, Math.ceil(13 / cell));
  const colStep = Math.max(1, Math.ceil(13 / cell));
  const shownY = ys.filter((_, i) => i % rowStep === 0);
  const shownX = xs.filter((_, j) => j % colStep === 0);
  const maxY = Math.max(0, ...shownY.map((l) => textWidth(l)));
  const maxX = Math.max(0, ...shownX.map((l) => textWidth(l)));
  const rotate = maxX > cell * colStep - 2;
  const left = Math.ceil(10 + (h.yTitle ? 20 : 0) + maxY + 6);
  const top = h.title ? 30 : 10;
  const gridW = C * cell;
  const gridH = R * cell;
  const bodyH = Math.max(gridH, 80);
  const xLabelH = rotate ? maxX * 0.72 + 16 : 20;
  const bottom = xLabelH + (h.xTitle ? 20 : 0);
  const barX = left + gridW + 18;
  const width = barX + 14 + 64;
  const height = top + bodyH + bottom + 8;
  const out: string[] = [];

  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      const v = z[i][j];
      const c = Number.isFinite(v) ? colorAt(range.scale, normalize(v, range)) : MISSING;
      out.push(
        `<rect class="c" x="${left + j * cell}" y="${
          top + i * cell
        }" width="${cell}" height="${cell}" fill="${rgbHex(c)}"/>`,
      );
      if (h.showValues && R === R0 && C === C0 && cell >= 26 && Number.isFinite(v)) {
        const size = Math.min(11, cell * 0.32);
        out.push(svgText(
          left + (j + 0.5) * cell,
          top + (i + 0.5) * cell + size * 0.35,
          formatFixed(v, h.digits),
          `text-anchor="middle" font-size="${r1(size)}" fill="${rgbHex(textColorOn(c))}"`,
        ));
      }
    }
  }
  ys.forEach((l, i) => {
    if (i % rowStep) return;
    out.push(svgText(left - 6, top + (i + 0.5) * cell + 4, l, `text-anchor="end"`));
  });
  xs.forEach((l, j) => {
    if (j % colStep) return;
    const cx = left + (j + 0.5) * cell;
    if (rotate) {
      out.push(
        `<text transform="translate(${r1(cx + 3)},${
          r1(top + gridH + 8)
        }) rotate(-45)" text-anchor="end">${escapeHtml(l)}</text>`,
      );
    } else out.push(svgText(cx, top + gridH + 15, l, `text-anchor="middle"`));
  });
  if (h.title) {
    out.push(
      svgText(
        left + gridW / 2,
        19,
        h.title,
        `text-anchor="middle" font-size="14" font-weight="bold"`,
      ),
    );
  }
  if (h.xTitle) {
    out.push(
      svgText(
        left + gridW / 2,
        top + bodyH + xLabelH + 14,
        h.xTitle,
        `text-anchor="middle" font-size="12"`,
      ),
    );
  }
  if (h.yTitle) {
    out.push(
      `<text transform="translate(16,${
        r1(top + gridH / 2)
      }) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(h.yTitle)}</text>`,
    );
  }
  const stops = scaleStops(range.scale)
    .map(([t, c]) => `<stop offset="${t}" stop-color="${rgbHex(c)}"/>`).join("");
  out.push(
    `<defs><linearGradient id="scale" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`,
    `<rect x="${barX}" y="${top}" width="14" height="${bodyH}" fill="url(#scale)" stroke="#999" stroke-width="0.5"/>`,
  );
  const mid = (h.zmin + h.zmax) / 2;
  [[h.zmax, top + 4], [mid, top + bodyH / 2 + 4], [h.zmin, top + bodyH + 2]].forEach(([v, y]) => {
    out.push(svgText(barX + 18, y, formatNumber(v, 3)));
  });
  return svgDoc(width, height, out);
}

/** Pixel frame shared by the line and bar charts. */
interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

function frameFor(title: string | undefined, xTitle: string | undefined, bottomExtra: number): {
  frame: Frame;
  W: number;
  H: number;
} {
  const W = 640;
  const top = title ? 34 : 14;
  const bottom = 26 + bottomExtra + (xTitle ? 20 : 0);
  const frame = { left: 64, top, width: W - 64 - 20, height: 280 };
  return { frame, W, H: frame.top + frame.height + bottom };
}

function titles(
  out: string[],
  f: Frame,
  H: number,
  t: { title?: string; xTitle?: string; yTitle?: string },
): void {
  if (t.title) {
    out.push(
      svgText(
        f.left + f.width / 2,
        21,
        t.title,
        `text-anchor="middle" font-size="14" font-weight="bold"`,
      ),
    );
  }
  if (t.xTitle) {
    out.push(svgText(f.left + f.width / 2, H - 8, t.xTitle, `text-anchor="middle" font-size="12"`));
  }
  if (t.yTitle) {
    out.push(
      `<text transform="translate(14,${
        r1(f.top + f.height / 2)
      }) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(t.yTitle)}</text>`,
    );
  }
}

/** Horizontal grid lines and labels for value ticks `ticks` mapped by `sy`. */
function yAxis(
  out: string[],
  f: Frame,
  ticks: number[],
  sy: (v: number) => number,
  label: (v: number) => string,
) {
  for (const t of ticks) {
    const y = sy(t);
    out.push(
      `<line x1="${f.left}" x2="${f.left + f.width}" y1="${r1(y)}" y2="${
        r1(y)
      }" stroke="#e5e5e5"/>`,
      svgText(f.left - 6, y + 4, label(t), `text-anchor="end"`),
    );
  }
}

/** A line chart: axes with round ticks (powers of ten for `logY`), one polyline per series, a legend. */
export function lineSvg(d: LineData): string {
  const { frame: f, W, H } = frameFor(d.title, d.xTitle, 0);
  const out: string[] = [];
  const tr = (y: number) => (d.logY ? Math.log10(y) : y);
  const pts = d.series.flatMap((s) =>
    s.y.map((y, i) => [s.x[i], y]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(tr(y)))
  );
  titles(out, f, H, d);
  if (pts.length === 0) {
    out.push(
      svgText(
        f.left + f.width / 2,
        f.top + f.height / 2,
        "no data yet",
        `text-anchor="middle" fill="#888"`,
      ),
    );
    return svgDoc(W, H, out);
  }
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => tr(p[1]))), Math.max(...pts.map((p) => tr(p[1])))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => f.left + ((x - x0) / (x1 - x0)) * f.width;
  const sy = (v: number) => f.top + ((y1 - v) / (y1 - y0)) * f.height;
  const yTicks = d.logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  yAxis(out, f, yTicks, sy, (t) => (d.logY ? formatNumber(10 ** t, 3) : formatNumber(t, 4)));
  for (const t of niceTicks(x0, x1, 6)) {
    out.push(
      `<line x1="${r1(sx(t))}" x2="${r1(sx(t))}" y1="${f.top + f.height}" y2="${
        f.top + f.height + 4
      }" stroke="#444"/>`,
      svgText(sx(t), f.top + f.height + 17, formatNumber(t, 4), `text-anchor="middle"`),
    );
  }
  out.push(
    `<rect x="${f.left}" y="${f.top}" width="${f.width}" height="${f.height}" fill="none" stroke="#444"/>`,
  );
  d.series.forEach((s, k) => {
    const color = rgbHex(PALETTE[k % PALETTE.length]);
    let seg: string[] = [];
    const flushSeg = () => {
      if (seg.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="2" points="${seg.join(" ")}"/>`,
        );
      } else if (seg.length === 1) {
        const [x, y] = seg[0].split(",");
        out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${color}"/>`);
      }
      seg = [];
    };
    s.y.forEach((y, i) => {
      const v = tr(y);
      if (Number.isFinite(v) && Number.isFinite(s.x[i])) seg.push(`${r1(sx(s.x[i]))},${r1(sy(v))}`);
      else flushSeg();
    });
    flushSeg();
  });
  if (d.series.length > 1 || d.series[0]?.name) {
    const lw = Math.max(...d.series.map((s) => textWidth(s.name))) + 34;
    const lx = f.left + f.width - lw - 6;
    out.push(
      `<rect x="${r1(lx)}" y="${f.top + 6}" width="${r1(lw)}" height="${
        d.series.length * 16 + 6
      }" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    d.series.forEach((s, k) => {
      const y = f.top + 18 + k * 16;
      out.push(
        `<line x1="${r1(lx + 6)}" x2="${r1(lx + 24)}" y1="${y - 4}" y2="${y - 4}" stroke="${
          rgbHex(PALETTE[k % PALETTE.length])
        }" stroke-width="2"/>`,
        svgText(lx + 28, y, s.name),
      );
    });
  }
  return svgDoc(W, H, out);
}

/** A bar chart: vertical bars from zero, grouped per label when there are several series. */
export function barSvg(d: BarData): string {
  const n = d.labels.length;
  const labels = d.labels.map((l) => truncate(l, 16));
  const groupW = Math.max(8, Math.min(60, 556 / Math.max(n, 1)));
  const maxL = Math.max(0, ...labels.map((l) => textWidth(l)));
  const rotate = maxL > groupW - 2;
  const { frame: f, W, H: H0 } = frameFor(d.title, d.xTitle, rotate ? maxL * 0.72 : 0);
  f.width = Math.max(f.width, n * groupW);
  const legendH = d.series.length > 1 ? 18 : 0; // a legend row above the bars
  f.top += legendH;
  const H = H0 + legendH;
  const out: string[] = [];
  titles(out, f, H, d);
  const vals = d.series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(0, ...vals);
  let hi = Math.max(0, ...vals);
  if (lo === hi) hi = 1;
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo < 0 ? lo - pad : lo, hi + pad];
  const sy = (v: number) => f.top + ((hi - v) / (hi - lo)) * f.height;
  yAxis(out, f, niceTicks(lo, hi, 5), sy, (t) => formatNumber(t, 4));
  const gw = f.width / Math.max(n, 1);
  const bw = (gw * 0.8) / Math.max(1, d.series.length);
  d.series.forEach((s, k) => {
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const hl = d.highlight.includes(i);
      const fill = hl && d.series.length === 1 ? HIGHLIGHT : PALETTE[k % PALETTE.length];
      const x = f.left + i * gw + gw * 0.1 + k * bw;
      const y = Math.min(sy(v), sy(0));
      const stroke = hl && d.series.length > 1 ? ` stroke="#000" stroke-width="2"` : "";
      out.push(
        `<rect class="bar" x="${r1(x)}" y="${r1(y)}" width="${r1(bw)}" height="${
          r1(Math.abs(sy(v) - sy(0)))
        }" fill="${rgbHex(fill)}"${stroke}/>`,
      );
    });
  });
  out.push(
    `<line x1="${f.left}" x2="${f.left + f.width}" y1="${r1(sy(0))}" y2="${
      r1(sy(0))
    }" stroke="#444"/>`,
  );
  const labelStep = Math.max(1, Math.ceil(13 / gw));
  labels.forEach((l, i) => {
    if (i % labelStep) return;
    const cx = f.left + (i + 0.5) * gw;
    if (rotate) {
      out.push(
        `<text transform="translate(${r1(cx + 3)},${
          r1(f.top + f.height + 10)
        }) rotate(-45)" text-anchor="end">${escapeHtml(l)}</text>`,
      );
    } else out.push(svgText(cx, f.top + f.height + 16, l, `text-anchor="middle"`));
  });
  let legendX = f.left;
  if (d.series.length > 1) {
    d.series.forEach((s, k) => {
      const y = f.top - 8;
      const fill = rgbHex(PALETTE[k % PALETTE.length]);
      out.push(
        `<rect x="${r1(legendX)}" y="${y - 9}" width="10" height="10" fill="${fill}"/>`,
        svgText(legendX + 14, y, s.name),
      );
      legendX += 28 + textWidth(s.name);
    });
  }
  return svgDoc(Math.max(W, f.left + f.width + 20), H, out);
}

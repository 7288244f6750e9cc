/**
 * Charts drawn with text for terminals and `text/plain`: heatmaps as coloured cells, half-block
 * pixels or a shaded grid; line charts in braille dots; bar charts as horizontal bars.
 *
 * @module
 */
import type { BarData, ColorMode, HeatmapData, LineData, TerminalOptions } from "./types.ts";
import {
  bg,
  colorAt,
  type ColorRange,
  fg,
  HIGHLIGHT,
  MISSING,
  normalize,
  PALETTE,
  reset,
  type RGB,
  shade,
  SHADES,
  textColorOn,
} from "./colors.ts";
import { displayWidth, formatFixed, formatNumber, padEnd, padStart, truncate } from "./text.ts";
import { bold, dim } from "./terminal.ts";

/** Block-averages `z` down to `rows × cols` cells, ignoring non-finite values (NaN when none are finite). */
export function resample(z: number[][], rows: number, cols: number): number[][] {
  const R = z.length;
  const C = z[0]?.length ?? 0;
  if (rows >= R && cols >= C) return z;
  return Array.from({ length: rows }, (_, i) => {
    const r0 = Math.floor((i * R) / rows);
    const r1 = Math.max(r0 + 1, Math.floor(((i + 1) * R) / rows));
    return Array.from({ length: cols }, (_, j) => {
      const c0 = Math.floor((j * C) / cols);
      const c1 = Math.max(c0 + 1, Math.floor(((j + 1) * C) / cols));
      let sum = 0;
      let n = 0;
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          if (Number.isFinite(z[r][c])) {
            sum += z[r][c];
            n++;
          }
        }
      }
      return n ? sum / n : NaN;
    });
  });
}

function cellColor(v: number, range: ColorRange): RGB {
  return Number.isFinite(v) ? colorAt(range.scale, normalize(v, range)) : MISSING;
}

function legend(h: HeatmapData, range: ColorRange, mode: ColorMode): string {
  const lo = formatNumber(h.zmin, 3);
  const hi = formatNumber(h.zmax, 3);
  if (mode === "none") return `scale [${SHADES}] ${lo} … ${hi}`;
  let bar = "";
  for (let i = 0; i < 24; i++) bar += bg(colorAt(range.scale, i / 23), mode) + " ";
  return `${lo} ${bar}${reset(mode)} ${hi}`;
}

function axisNote(h: HeatmapData): string[] {
  const parts = [h.yTitle && `rows: ${h.yTitle}`, h.xTitle && `columns: ${h.xTitle}`].filter(
    Boolean,
  );
  return parts.length ? [parts.join(" · ")] : [];
}

/**
 * A heatmap as text. Up to 16 columns that fit the width: one cell per entry, labelled, with its
 * value (background colour, or a shading glyph from `" ░▒▓█"` without colour). Larger: averaged
 * down to the width, drawn with `▀` half blocks (two rows per line) in colour or one shading
 * glyph per cell without.
 */
export function heatmapText(h: HeatmapData, opts: TerminalOptions): string {
  const mode = opts.color;
  const range: ColorRange = { zmin: h.zmin, zmax: h.zmax, scale: h.scale };
  const rows = h.z.length;
  const cols = h.z[0]?.length ?? 0;
  const lines: string[] = h.title ? [bold(h.title, mode)] : [];
  if (rows === 0 || cols === 0) return [...lines, "(empty heatmap)"].join("\n");
  const rowLabels = h.y.map((l) => truncate(l, 12));
  const labelW = Math.max(0, ...rowLabels.map(displayWidth));
  const values = h.z.map((r) =>
    r.map((v) => (Number.isFinite(v) ? formatFixed(v, h.digits) : "·"))
  );
  const valueW = h.showValues ? Math.max(...values.flat().map(displayWidth)) : 0;
  const colLabelW = Math.min(8, Math.max(...h.x.map(displayWidth)));
  const cellW = Math.max(h.showValues ? valueW + 2 : 2, Math.min(colLabelW, 6));
  const gap = mode === "none" ? 1 : 0;
  const small = cols <= 16 && labelW + 1 + cols * (cellW + gap) <= opts.width;

  if (small) {
    lines.push(
      " ".repeat(labelW + 1) +
        h.x.map((l) => padStart(truncate(l, cellW), cellW)).join(" ".repeat(gap)),
    );
    h.z.forEach((row, i) => {
      const cells = row.map((v, j) => {
        if (mode === "none") {
          const g = Number.isFinite(v) ? shade(normalize(v, range)) : "·";
          return h.showValues ? g + padStart(values[i][j], cellW - 1) : g.repeat(cellW);
        }
        const c = cellColor(v, range);
        const text = h.showValues ? padStart(values[i][j], cellW - 1) + " " : " ".repeat(cellW);
        return bg(c, mode) + fg(textColorOn(c), mode) + text + reset(mode);
      });
      lines.push(padEnd(rowLabels[i], labelW) + " " + cells.join(" ".repeat(gap)));
    });
    return [...lines, legend(h, range, mode), ...axisNote(h)].join("\n");
  }

  if (mode === "none") {
    const outCols = Math.max(1, Math.min(cols, opts.width - labelW - 1));
    const outRows = Math.min(rows, 48);
    const grid = resample(h.z, outRows, outCols);
    const labelled = outRows === rows;
    for (let i = 0; i < outRows; i++) {
      const glyphs = grid[i].map((v) => (Number.isFinite(v) ? shade(normalize(v, range)) : "·"));
      lines.push((labelled ? padEnd(rowLabels[i], labelW) + " " : "") + glyphs.join(""));
    }
    lines.push(sizeNote(h, outRows, outCols));
  } else {
    const outCols = Math.max(1, Math.min(cols, opts.width - 1));
    const outRows = Math.min(rows, Math.ceil(rows / (cols / outCols)), 80);
    const grid = resample(h.z, outRows, outCols);
    for (let i = 0; i < outRows; i += 2) {
      let line = "";
      for (let j = 0; j < outCols; j++) {
        const upper = cellColor(grid[i][j], range);
        line += i + 1 < outRows
          ? fg(upper, mode) + bg(cellColor(grid[i + 1][j], range), mode) + "▀"
          : fg(upper, mode) + "▀";
      }
      lines.push(line + reset(mode));
    }
    lines.push(sizeNote(h, outRows, outCols));
  }
  return [...lines, legend(h, range, mode), ...axisNote(h)].join("\n");
}

function sizeNote(h: HeatmapData, outRows: number, outCols: number): string {
  const rows = h.z.length;
  const cols = h.z[0].length;
  const span = (ls: string[]) => `${truncate(ls[0], 10)} … ${truncate(ls[ls.length - 1], 10)}`;
  const averaged = outRows < rows || outCols < cols ? `, averaged to ${outRows}×${outCols}` : "";
  return `${rows}×${cols}${averaged}; rows ${span(h.y)}; columns ${span(h.x)}`;
}

const BRAILLE_BITS = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
];

/** Finite (x, y) pairs of a series, y in log₁₀ for a log axis (non-positive y dropped). */
function plotPoints(s: { x: number[]; y: number[] }, logY: boolean): [number, number][] {
  const pts: [number, number][] = [];
  s.y.forEach((y, i) => {
    const x = s.x[i];
    if (!Number.isFinite(x) || !Number.isFinite(y) || (logY && y <= 0)) return;
    pts.push([x, logY ? Math.log10(y) : y]);
  });
  return pts;
}

/** `[lo, hi]` of finite values, widened when they are equal. */
function extent(vs: number[]): [number, number] {
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/**
 * A line chart in braille dots (2×4 per character), ten lines high, with the y range on the
 * left, the x range below, and per series its last, minimum and maximum values.
 */
export function lineText(d: LineData, opts: TerminalOptions): string {
  const mode = opts.color;
  const lines: string[] = d.title ? [bold(d.title, mode)] : [];
  const series = d.series.map((s) => plotPoints(s, d.logY));
  const all = series.flat();
  if (all.length === 0) return [...lines, "(no data yet)"].join("\n");
  const [xmin, xmax] = extent(all.map((p) => p[0]));
  const [ymin, ymax] = extent(all.map((p) => p[1]));
  const H = 10;
  const yLabel = (v: number) => formatNumber(d.logY ? 10 ** v : v, 3);
  const rowValue = (r: number) => ymax - ((4 * r + 1.5) / (4 * H - 1)) * (ymax - ymin);
  const mid = Math.floor((H - 1) / 2);
  const labels = new Map([[0, yLabel(ymax)], [mid, yLabel(rowValue(mid))], [H - 1, yLabel(ymin)]]);
  const labelW = Math.max(...[...labels.values()].map(displayWidth));
  const W = Math.max(10, Math.min(120, opts.width - labelW - 2));
  const bits = new Uint8Array(W * H);
  const owner = new Int16Array(W * H).fill(-1);
  const plot = (px: number, py: number, k: number) => {
    const cx = Math.min(W - 1, Math.floor(px / 2));
    const cy = Math.min(H - 1, Math.floor(py / 4));
    bits[cy * W + cx] |= BRAILLE_BITS[py % 4][px % 2];
    owner[cy * W + cx] = k;
  };
  series.forEach((pts, k) => {
    const pix = pts.map(([x, y]) => [
      ((x - xmin) / (xmax - xmin)) * (2 * W - 1),
      ((ymax - y) / (ymax - ymin)) * (4 * H - 1),
    ]);
    pix.forEach(([px, py], i) => {
      const [qx, qy] = i > 0 ? pix[i - 1] : [px, py];
      const steps = Math.max(1, Math.ceil(Math.max(Math.abs(px - qx), Math.abs(py - qy))));
      for (let s = 0; s <= steps; s++) {
        plot(Math.round(qx + ((px - qx) * s) / steps), Math.round(qy + ((py - qy) * s) / steps), k);
      }
    });
  });
  for (let r = 0; r < H; r++) {
    const label = labels.get(r);
    let row = "";
    for (let c = 0; c < W; c++) {
      const b = bits[r * W + c];
      const ch = String.fromCharCode(0x2800 + b);
      const k = owner[r * W + c];
      row += b && mode !== "none" ? fg(PALETTE[k % PALETTE.length], mode) + ch + reset(mode) : ch;
    }
    lines.push(padStart(label ?? "", labelW) + " " + (label ? "┤" : "│") + row);
  }
  lines.push(" ".repeat(labelW + 1) + "└" + "─".repeat(W));
  const x0 = formatNumber(xmin, 4);
  const x1 = formatNumber(xmax, 4);
  lines.push(" ".repeat(labelW + 2) + x0 + padStart(x1, W - displayWidth(x0)));
  const titles = [
    d.xTitle && `x: ${d.xTitle}`,
    d.yTitle && `y: ${d.yTitle}${d.logY ? " (log)" : ""}`,
  ]
    .filter(Boolean);
  if (titles.length) lines.push(dim(titles.join(" · "), mode));
  d.series.forEach((s, k) => {
    const ys = s.y.filter(Number.isFinite);
    const mark = mode === "none"
      ? "──"
      : fg(PALETTE[k % PALETTE.length], mode) + "━━" + reset(mode);
    const stats = ys.length
      ? `last ${formatNumber(ys[ys.length - 1])}  min ${formatNumber(Math.min(...ys))}  max ${
        formatNumber(Math.max(...ys))
      }`
      : "no data";
    lines.push(`${mark} ${s.name}  ${stats}`);
  });
  return lines.join("\n");
}

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const FILLS = ["█", "▓", "▒", "░"];

/** A bar of `len` cells (fractional), with eighth blocks for the remainder when `fill` is `█`. */
function barOf(len: number, fill: string): string {
  const full = Math.floor(len);
  const rest = fill === "█" ? EIGHTHS[Math.round((len - full) * 8) % 8] : "";
  return fill.repeat(full) + rest;
}

/**
 * A bar chart as horizontal bars, one line per label and series, with the value after each bar;
 * highlighted labels are drawn in the highlight colour and marked `◀`.
 */
export function barText(d: BarData, opts: TerminalOptions): string {
  const mode = opts.color;
  const lines: string[] = d.title ? [bold(d.title, mode)] : [];
  const labels = d.labels.map((l) => truncate(l, 16));
  const labelW = Math.max(0, ...labels.map(displayWidth));
  const vals = d.series.flatMap((s) => s.values).filter(Number.isFinite);
  const posMax = Math.max(0, ...vals);
  const negMax = Math.max(0, ...vals.map((v) => -v));
  const valueW = Math.max(0, ...vals.map((v) => displayWidth(formatNumber(v))));
  const barW = Math.max(10, Math.min(60, opts.width - labelW - valueW - 6));
  const negW = negMax > 0 ? Math.round((barW * negMax) / (negMax + posMax)) : 0;
  const posW = barW - negW;
  const multi = d.series.length > 1;
  d.labels.forEach((_, i) => {
    const hl = d.highlight.includes(i);
    d.series.forEach((s, k) => {
      const v = s.values[i];
      const fill = mode === "none" && multi ? FILLS[k % FILLS.length] : "█";
      let bar: string;
      if (!Number.isFinite(v)) bar = " ".repeat(negW);
      else if (v >= 0) bar = " ".repeat(negW) + barOf(posMax ? (v / posMax) * posW : 0, fill);
      else {
        const n = Math.round((-v / negMax) * negW);
        bar = " ".repeat(negW - n) + fill.repeat(n);
      }
      const color = hl && !multi ? HIGHLIGHT : PALETTE[k % PALETTE.length];
      const painted = fg(color, mode) + padEnd(bar, barW) + reset(mode);
      const label = k === 0 ? labels[i] : "";
      const value = Number.isFinite(v) ? formatNumber(v) : "—";
      lines.push(`${padEnd(label, labelW)} │${painted} ${value}${hl && k === 0 ? " ◀" : ""}`);
    });
  });
  if (multi) {
    lines.push(
      d.series.map((s, k) => {
        const sw = mode === "none"
          ? FILLS[k % FILLS.length]
          : fg(PALETTE[k % PALETTE.length], mode) + "█" + reset(mode);
        return `${sw} ${s.name}`;
      }).join("  "),
    );
  }
  const titles = [d.xTitle, d.yTitle].filter(Boolean);
  if (titles.length) lines.push(dim(titles.join(" · "), mode));
  return lines.join("\n");
}

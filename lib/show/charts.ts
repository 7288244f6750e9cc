/**
 * Heatmaps, line charts and bar charts: each validates its input once, then renders as a
 * Plotly figure + static SVG + text for Jupyter, or as text for a terminal.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../tf_types.ts";
import type { BarData, Displayable, HeatmapData, LineData, TerminalOptions } from "./types.ts";
import { colorRange, HIGHLIGHT, PALETTE, plotlyColorscale, rgbCss } from "./colors.ts";
import { plotBundle, type PlotlyFigure } from "./bundle.ts";
import { barSvg, heatmapSvg, lineSvg } from "./svg.ts";
import { barText, heatmapText, lineText } from "./textplot.ts";

const PLOT_FONT = {
  family: "'DejaVu Sans', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif",
};
const PLAIN: TerminalOptions = { color: "none", width: 100 };

/** A matrix from `number[][]` or a rank-2 tensor (rank 1 is one row), checked to be rectangular. */
function toMatrix(z: number[][] | Tensor, who: string): number[][] {
  if (z instanceof tf.Tensor) {
    if (z.rank === 1) return [z.arraySync() as number[]];
    if (z.rank !== 2) {
      throw new Error(`${who}: expected a rank-2 tensor, got rank ${z.rank} (shape [${z.shape}])`);
    }
    return z.arraySync() as number[][];
  }
  if (!Array.isArray(z) || !z.every(Array.isArray)) {
    throw new Error(`${who}: expected number[][] or a tensor, got ${typeof z}`);
  }
  const cols = z[0]?.length ?? 0;
  z.forEach((row, i) => {
    if (row.length !== cols) {
      throw new Error(`${who}: row ${i} has ${row.length} values, expected ${cols}`);
    }
    row.forEach((v, j) => {
      if (typeof v !== "number") {
        throw new Error(`${who}: z[${i}][${j}] must be a number, got ${typeof v}`);
      }
    });
  });
  return z;
}

/** Labels for `n` positions: the given ones (checked to be `n` long) or `0 … n-1`. */
function labelsFor(given: string[] | undefined, n: number, what: string): string[] {
  if (given === undefined) return Array.from({ length: n }, (_, i) => String(i));
  if (given.length !== n) throw new Error(`${what}: expected ${n} labels, got ${given.length}`);
  return given.map(String);
}

/**
 * Plotly reads a subset of HTML in its texts (`<b>`, `<s>`, `<br>`…), so a token such as
 * `<s>` would vanish as a strikethrough tag: escape `&`, `<` and `>` as entities.
 */
function plotlyText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Tick values and texts for a category axis, thinned to at most 40 ticks. */
function ticks(labels: string[]): { tickmode: string; tickvals: number[]; ticktext: string[] } {
  const step = Math.ceil(labels.length / 40);
  const idx = labels.map((_, i) => i).filter((i) => i % step === 0);
  return { tickmode: "array", tickvals: idx, ticktext: idx.map((i) => plotlyText(labels[i])) };
}

function titleOf(s: string | undefined): { text: string } | undefined {
  return s ? { text: plotlyText(s) } : undefined;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function heatmapFigure(h: HeatmapData): PlotlyFigure {
  const rows = h.z.length;
  const cols = h.z[0]?.length ?? 0;
  const trace: Record<string, unknown> = {
    type: "heatmap",
    z: h.z.map((r) => r.map(finiteOrNull)),
    x: h.x.map((_, j) => j),
    y: h.y.map((_, i) => i),
    zmin: h.zmin,
    zmax: h.zmax,
    colorscale: plotlyColorscale(h.scale),
    colorbar: { thickness: 14 },
  };
  if (rows * cols <= 10_000) {
    trace.text = h.y.map((yl) => h.x.map((xl) => `${yl} · ${xl}`));
    trace.hovertemplate = "%{text}<br>%{z:.4g}<extra></extra>";
  }
  if (h.showValues) trace.texttemplate = `%{z:.${h.digits}f}`;
  return {
    data: [trace],
    layout: {
      title: titleOf(h.title),
      height: Math.max(260, Math.min(720, rows * 24 + 140)),
      margin: { t: h.title ? 50 : 20, r: 20, b: 60 },
      xaxis: { ...ticks(h.x), title: titleOf(h.xTitle), showgrid: false, zeroline: false },
      yaxis: {
        ...ticks(h.y),
        title: titleOf(h.yTitle),
        autorange: "reversed",
        showgrid: false,
        zeroline: false,
      },
      font: PLOT_FONT,
    },
  };
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  /** Column labels (tokens, positions); default `0 … cols-1`. */
  x?: string[];
  /** Row labels; default `0 … rows-1`. */
  y?: string[];
  /** Plot title. */
  title?: string;
  /** Column axis title. */
  xTitle?: string;
  /** Row axis title. */
  yTitle?: string;
  /** Value drawn with the scale's first colour; default the minimum (or −max|z| when diverging). */
  zmin?: number;
  /** Value drawn with the scale's last colour; default the maximum (or max|z| when diverging). */
  zmax?: number;
  /** Default: diverging (blue–white–red, symmetric) when values take both signs, else sequential. */
  colorscale?: "diverging" | "sequential";
  /** Print each cell's value; default when the matrix is at most 16×16. */
  showValues?: boolean;
  /** Decimals of printed values; default 2. */
  digits?: number;
}

/**
 * A heatmap of a matrix (`number[][]` or a rank-2 tensor), row 0 at the top, e.g. attention
 * weights with the query tokens as `y` and the key tokens as `x`. Non-finite values (masked
 * scores) are drawn as missing.
 */
export function heatmap(z: number[][] | Tensor, opts: HeatmapOptions = {}): Displayable {
  const m = toMatrix(z, "heatmap");
  const rows = m.length;
  const cols = m[0]?.length ?? 0;
  const range = colorRange(m.flat(), opts);
  const data: HeatmapData = {
    z: m,
    x: labelsFor(opts.x, cols, "heatmap x"),
    y: labelsFor(opts.y, rows, "heatmap y"),
    title: opts.title,
    xTitle: opts.xTitle,
    yTitle: opts.yTitle,
    ...range,
    showValues: opts.showValues ?? (rows <= 16 && cols <= 16),
    digits: opts.digits ?? 2,
  };
  return {
    bundle: () =>
      plotBundle(
        heatmapFigure(data),
        heatmapSvg(data),
        heatmapText(data, PLAIN),
        opts.title ?? "heatmap",
      ),
    terminal: (o) => heatmapText(data, o),
  };
}

/**
 * A line chart of one or more series (loss curves, learning-rate schedules); `x` defaults to
 * 0, 1, 2, …; `logY` draws the y axis logarithmically. Non-finite values leave gaps.
 */
export function lineChart(
  series: { name: string; x?: number[]; y: number[] }[],
  opts: { title?: string; xTitle?: string; yTitle?: string; logY?: boolean } = {},
): Displayable {
  const data: LineData = {
    series: series.map((s, k) => {
      if (!Array.isArray(s.y)) throw new Error(`lineChart: series ${k} (${s.name}) has no y array`);
      if (s.x !== undefined && s.x.length !== s.y.length) {
        throw new Error(
          `lineChart: series ${k} (${s.name}) has ${s.x.length} x values but ${s.y.length} y values`,
        );
      }
      return { name: plotlyText(s.name), x: s.x ?? s.y.map((_, i) => i), y: s.y };
    }),
    title: opts.title,
    xTitle: opts.xTitle,
    yTitle: opts.yTitle,
    logY: opts.logY ?? false,
  };
  const figure = (): PlotlyFigure => ({
    data: data.series.map((s, k) => ({
      type: "scatter",
      mode: s.y.length === 1 ? "markers" : "lines",
      name: s.name,
      x: s.x,
      y: s.y.map(finiteOrNull),
      line: { color: rgbCss(PALETTE[k % PALETTE.length]), width: 2 },
      marker: { color: rgbCss(PALETTE[k % PALETTE.length]) },
    })),
    layout: {
      title: titleOf(opts.title),
      height: 360,
      margin: { t: opts.title ? 50 : 20, r: 20 },
      xaxis: { title: titleOf(opts.xTitle) },
      yaxis: { title: titleOf(opts.yTitle), type: data.logY ? "log" : "linear" },
      showlegend: data.series.length > 1,
      font: PLOT_FONT,
    },
  });
  return {
    bundle: () =>
      plotBundle(figure(), lineSvg(data), lineText(data, PLAIN), opts.title ?? "line chart"),
    terminal: (o) => lineText(data, o),
  };
}

/**
 * A bar chart: one bar per label, or grouped bars for several series. `highlight` lists label
 * indices drawn in another colour (e.g. the sampled token).
 */
export function barChart(
  labels: string[],
  series: { name: string; values: number[] }[] | number[],
  opts: { title?: string; xTitle?: string; yTitle?: string; highlight?: number[] } = {},
): Displayable {
  const list = series.length > 0 && typeof series[0] === "number"
    ? [{ name: "", values: series as number[] }]
    : (series as { name: string; values: number[] }[]);
  list.forEach((s, k) => {
    if (!Array.isArray(s.values) || s.values.length !== labels.length) {
      throw new Error(
        `barChart: series ${k}${
          s.name ? ` (${s.name})` : ""
        } has ${s.values?.length} values, expected ${labels.length} (one per label)`,
      );
    }
  });
  const highlight = opts.highlight ?? [];
  for (const i of highlight) {
    if (!Number.isInteger(i) || i < 0 || i >= labels.length) {
      throw new Error(`barChart: highlight index ${i} is not in 0…${labels.length - 1}`);
    }
  }
  const data: BarData = {
    labels: labels.map(String),
    series: list,
    title: opts.title,
    xTitle: opts.xTitle,
    yTitle: opts.yTitle,
    highlight,
  };
  const figure = (): PlotlyFigure => ({
    data: list.map((s, k) => {
      const base = rgbCss(PALETTE[k % PALETTE.length]);
      const single = list.length === 1;
      return {
        type: "bar",
        name: plotlyText(s.name),
        x: labels.map((_, i) => i),
        y: s.values.map(finiteOrNull),
        text: labels.map(plotlyText),
        hovertemplate: "%{text}: %{y:.4g}<extra></extra>",
        marker: {
          color: single
            ? labels.map((_, i) => (highlight.includes(i) ? rgbCss(HIGHLIGHT) : base))
            : base,
          line: {
            color: "black",
            width: labels.map((_, i) => (!single && highlight.includes(i) ? 2 : 0)),
          },
        },
        textposition: "none",
      };
    }),
    layout: {
      title: titleOf(opts.title),
      height: 360,
      margin: { t: opts.title ? 50 : 20, r: 20 },
      barmode: "group",
      xaxis: { ...ticks(data.labels), title: titleOf(opts.xTitle) },
      yaxis: { title: titleOf(opts.yTitle) },
      showlegend: list.length > 1,
      font: PLOT_FONT,
    },
  });
  return {
    bundle: () =>
      plotBundle(figure(), barSvg(data), barText(data, PLAIN), opts.title ?? "bar chart"),
    terminal: (o) => barText(data, o),
  };
}

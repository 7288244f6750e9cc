/**
 * Colour scales and palettes, shared by the Plotly figures, the static SVGs and the terminal
 * so that one matrix looks the same everywhere.
 *
 * @module
 */
import type { ColorMode } from "./types.ts";

/** An sRGB colour, each channel 0–255. */
export type RGB = [number, number, number];

/** The two heatmap colour scales: blue–white–red around zero, or viridis for one-signed data. */
export type ScaleName = "diverging" | "sequential";

const SCALES: Record<ScaleName, [number, RGB][]> = {
  sequential: [
    [0, [68, 1, 84]],
    [0.25, [59, 82, 139]],
    [0.5, [33, 145, 140]],
    [0.75, [94, 201, 98]],
    [1, [253, 231, 37]],
  ],
  diverging: [
    [0, [33, 102, 172]],
    [0.25, [103, 169, 207]],
    [0.5, [247, 247, 247]],
    [0.75, [239, 138, 98]],
    [1, [178, 24, 43]],
  ],
};

/** Line and bar colours (Plotly's default cycle). */
export const PALETTE: RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
];

/** The colour of a highlighted bar. */
export const HIGHLIGHT: RGB = [230, 85, 13];

/** The colour of a missing (non-finite) heatmap cell. */
export const MISSING: RGB = [200, 200, 200];

/** The colour at position `t ∈ [0, 1]` of a scale, linearly interpolated between its stops. */
export function colorAt(scale: ScaleName, t: number): RGB {
  const stops = SCALES[scale];
  const u = Math.min(1, Math.max(0, t));
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i];
    if (u <= t1) {
      const [t0, c0] = stops[i - 1];
      const f = (u - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + f * (c1[k] - c0[k]))) as RGB;
    }
  }
  return stops[stops.length - 1][1];
}

/** The scale as Plotly's `colorscale`: `[[0, "rgb(…)"], …, [1, "rgb(…)"]]`. */
export function plotlyColorscale(scale: ScaleName): [number, string][] {
  return SCALES[scale].map(([t, c]) => [t, rgbCss(c)]);
}

/** The scale's stops, for an SVG gradient. */
export function scaleStops(scale: ScaleName): [number, RGB][] {
  return SCALES[scale];
}

/** `"rgb(r,g,b)"`. */
export function rgbCss([r, g, b]: RGB): string {
  return `rgb(${r},${g},${b})`;
}

/** `"#rrggbb"`. */
export function rgbHex(c: RGB): string {
  return "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
}

/** Black or white, whichever reads better on `bg` (by relative luminance). */
export function textColorOn([r, g, b]: RGB): RGB {
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? [0, 0, 0] : [255, 255, 255];
}

/** The nearest colour of xterm's 6×6×6 colour cube, as a 256-colour index. */
export function rgbTo256([r, g, b]: RGB): number {
  const q = (v: number) => Math.round((v / 255) * 5);
  return 16 + 36 * q(r) + 6 * q(g) + q(b);
}

/** The ANSI escape setting the foreground (`layer` 38) or background (48) colour; `""` with no colour. */
function ansiColor(layer: 38 | 48, c: RGB, mode: ColorMode): string {
  if (mode === "none") return "";
  if (mode === "truecolor") return `\x1b[${layer};2;${c[0]};${c[1]};${c[2]}m`;
  return `\x1b[${layer};5;${rgbTo256(c)}m`;
}

/** ANSI foreground colour escape (`""` when `mode` is `"none"`). */
export function fg(c: RGB, mode: ColorMode): string {
  return ansiColor(38, c, mode);
}

/** ANSI background colour escape (`""` when `mode` is `"none"`). */
export function bg(c: RGB, mode: ColorMode): string {
  return ansiColor(48, c, mode);
}

/** Resets all ANSI attributes (`""` when `mode` is `"none"`). */
export function reset(mode: ColorMode): string {
  return mode === "none" ? "" : "\x1b[0m";
}

/** Shading glyphs from empty to full, for colourless heatmaps. */
export const SHADES = " ░▒▓█";

/** The shading glyph for `t ∈ [0, 1]`. */
export function shade(t: number): string {
  const i = Math.round(Math.min(1, Math.max(0, t)) * (SHADES.length - 1));
  return SHADES[i];
}

/** A colour range and scale for a heatmap. */
export interface ColorRange {
  /** The value drawn with the scale's first colour. */
  zmin: number;
  /** The value drawn with the scale's last colour. */
  zmax: number;
  /** Which scale. */
  scale: ScaleName;
}

/**
 * Chooses the range and scale for values `z`: the diverging scale (symmetric around 0, so white
 * means zero) when the values take both signs, the sequential one otherwise; explicit
 * `zmin`/`zmax`/`colorscale` win. Non-finite values are ignored.
 */
export function colorRange(
  values: number[],
  opts: { zmin?: number; zmax?: number; colorscale?: ScaleName },
): ColorRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) [lo, hi] = [0, 1];
  const scale = opts.colorscale ?? (lo < 0 && hi > 0 ? "diverging" : "sequential");
  let zmin = lo;
  let zmax = hi;
  if (scale === "diverging" && opts.zmin === undefined && opts.zmax === undefined) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    [zmin, zmax] = [-m, m];
  }
  zmin = opts.zmin ?? zmin;
  zmax = opts.zmax ?? zmax;
  if (zmax === zmin) [zmin, zmax] = [zmin - 1, zmax + 1];
  if (zmax < zmin) throw new Error(`heatmap: zmin ${zmin} must be below zmax ${zmax}`);
  return { zmin, zmax, scale };
}

/** Where `v` falls in the range, clamped to [0, 1]. */
export function normalize(v: number, r: ColorRange): number {
  return Math.min(1, Math.max(0, (v - r.zmin) / (r.zmax - r.zmin)));
}

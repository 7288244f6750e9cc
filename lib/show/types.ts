/**
 * The types every renderer shares.
 *
 * @module
 */

/** A Jupyter MIME bundle: MIME type → data. `"text/plain"` is always present. */
export interface MimeBundle {
  /** The data for one MIME type, e.g. `"text/html"` → an HTML string. */
  [mime: string]: unknown;
}

/**
 * How many colours the terminal shows: none (not a TTY, or `NO_COLOR`), xterm's 256, or
 * 24-bit (`COLORTERM=truecolor`).
 */
export type ColorMode = "none" | "256" | "truecolor";

/** What a terminal rendering needs to know. */
export interface TerminalOptions {
  /** The colour depth to use. */
  color: ColorMode;
  /** The line width in columns. */
  width: number;
}

/** Anything `show()` can draw: a MIME bundle for Jupyter, and text for a terminal. */
export interface Displayable {
  /** The MIME bundle Jupyter receives (always with `"text/plain"`). */
  bundle(): MimeBundle;
  /** The rendering for a terminal of the given colour depth and width (no trailing newline). */
  terminal(opts: TerminalOptions): string;
}

/** A heatmap after validation, as the SVG and terminal renderers receive it. */
export interface HeatmapData {
  /** Rows of values; non-finite values are drawn as missing. */
  z: number[][];
  /** Column labels, one per column. */
  x: string[];
  /** Row labels, one per row. */
  y: string[];
  /** Plot title. */
  title?: string;
  /** Column axis title. */
  xTitle?: string;
  /** Row axis title. */
  yTitle?: string;
  /** The value drawn with the scale's first colour. */
  zmin: number;
  /** The value drawn with the scale's last colour. */
  zmax: number;
  /** Blue–white–red around zero, or viridis. */
  scale: "diverging" | "sequential";
  /** Whether to print each cell's value. */
  showValues: boolean;
  /** Decimals for printed values. */
  digits: number;
}

/** A line chart after validation. */
export interface LineData {
  /** Series with their x values filled in (0, 1, 2, … when not given). */
  series: { name: string; x: number[]; y: number[] }[];
  /** Plot title. */
  title?: string;
  /** x axis title. */
  xTitle?: string;
  /** y axis title. */
  yTitle?: string;
  /** Logarithmic y axis. */
  logY: boolean;
}

/** A bar chart after validation. */
export interface BarData {
  /** One label per bar group. */
  labels: string[];
  /** Series of values, one value per label. */
  series: { name: string; values: number[] }[];
  /** Plot title. */
  title?: string;
  /** Label axis title. */
  xTitle?: string;
  /** Value axis title. */
  yTitle?: string;
  /** Indices of labels drawn in the highlight colour. */
  highlight: number[];
}

/**
 * The display layer: rich output in Jupyter (KaTeX formulas, Plotly heatmaps and charts,
 * tables, markdown) and readable text in a terminal (ANSI heatmaps, Unicode formulas, the
 * chapter's prose interleaved with its outputs). Nothing in the maths imports it. This module
 * only gathers the layer's public parts from the files that define them.
 *
 * ```ts
 * import { heatmap, setup, show, tex } from "../lib/show/mod.ts";
 * await setup();
 * await show(tex`\mathrm{softmax}(x) = ${[0.786, 0.214]}`, heatmap(weights, { x: tokens, y: tokens }));
 * ```
 *
 * @module
 */
export type { ColorMode, Displayable, MimeBundle, TerminalOptions } from "./types.ts";
export { inJupyter } from "./env.ts";
export { md, table } from "./bundle.ts";
export { formula, tex } from "./katex.ts";
export { texToUnicode } from "./tex_unicode.ts";
export { barChart, heatmap, type HeatmapOptions, lineChart } from "./charts.ts";
export { displayWidth } from "./text.ts";
export { prose } from "./prose.ts";
export { live, type LiveOutput, type Progress, progress, progressLine, show } from "./display.ts";
export { setup } from "./setup.ts";
export * from "./monitor.ts";

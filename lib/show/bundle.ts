/**
 * MIME bundles for prose, text and tables, and the HTML wrapper that shows a static SVG and
 * swaps in the interactive Plotly figure when plotly.js is loaded.
 *
 * @module
 */
import type { Displayable, MimeBundle, TerminalOptions } from "./types.ts";
import { escapeHtml, formatFixed, scriptJson, uniqueId, utf8Base64 } from "./text.ts";
import { bold, renderMarkdown, tableLines } from "./terminal.ts";

/** True for an object with `bundle()` and `terminal()` methods. */
export function isDisplayable(v: unknown): v is Displayable {
  return typeof v === "object" && v !== null &&
    typeof (v as Displayable).bundle === "function" &&
    typeof (v as Displayable).terminal === "function";
}

/**
 * Prose: `text/markdown` (Jupyter renders it, formulas included) and the markdown itself as
 * `text/plain`; in a terminal, rendered with bold headings, wrapped to the width.
 */
export function md(markdown: string): Displayable {
  return {
    bundle: () => ({ "text/markdown": markdown, "text/plain": markdown }),
    terminal: (opts: TerminalOptions) => renderMarkdown(markdown, opts),
  };
}

/** Preformatted text, shown as is everywhere (`text/plain` only). */
export function text(s: string): Displayable {
  return { bundle: () => ({ "text/plain": s }), terminal: () => s };
}

/**
 * A table: `text/html` `<table>` and aligned `text/plain` (CJK counted as two columns). Number
 * columns are right-aligned and printed with `digits` decimals, or 4 significant digits when
 * `digits` is not given. Every row must have as many cells as the header (or the first row).
 */
export function table(
  rows: (string | number)[][],
  opts: { header?: string[]; title?: string; digits?: number } = {},
): Displayable {
  const ncol = opts.header?.length ?? rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== ncol) {
      throw new Error(
        `table: row ${i} has ${Array.isArray(r) ? r.length : "no"} cells, expected ${ncol}` +
          (opts.header ? " (the header's length)" : " (the first row's length)"),
      );
    }
    r.forEach((c, j) => {
      if (typeof c !== "string" && typeof c !== "number") {
        throw new Error(`table: cell [${i}][${j}] must be a string or number, got ${typeof c}`);
      }
    });
  });
  const right = Array.from(
    { length: ncol },
    (_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === "number"),
  );
  const cells = rows.map((r) =>
    r.map((c) => (typeof c === "number" ? formatFixed(c, opts.digits) : c))
  );
  const plainText = (opts2: TerminalOptions) => {
    const lines = tableLines(cells, {
      header: opts.header,
      right,
      mode: opts2.color,
      width: opts2.width,
    });
    return (opts.title ? [bold(opts.title, opts2.color), ...lines] : lines).join("\n");
  };
  return {
    bundle(): MimeBundle {
      const td = (tag: string, s: string, j: number) =>
        `<${tag} style="text-align:${right[j] ? "right" : "left"};padding:2px 10px">${
          escapeHtml(s)
        }</${tag}>`;
      const head = opts.header
        ? `<thead><tr>${opts.header.map((h, j) => td("th", h, j)).join("")}</tr></thead>`
        : "";
      const body = cells.map((r) => `<tr>${r.map((c, j) => td("td", c, j)).join("")}</tr>`).join(
        "",
      );
      const caption = opts.title
        ? `<caption style="font-weight:bold;text-align:left;padding:4px 0">${
          escapeHtml(opts.title)
        }</caption>`
        : "";
      return {
        "text/html":
          `<table class="gpt-table" style="border-collapse:collapse;font-variant-numeric:tabular-nums">` +
          `${caption}${head}<tbody>${body}</tbody></table>`,
        "text/plain": plainText({ color: "none", width: 100 }),
      };
    },
    terminal: plainText,
  };
}

/** A Plotly figure: traces and layout, as plotly.js's `newPlot` takes them. */
export interface PlotlyFigure {
  /** The traces. */
  data: Record<string, unknown>[];
  /** The layout. */
  layout: Record<string, unknown>;
}

/**
 * The bundle of a chart: the Plotly figure (`application/vnd.plotly.v1+json`, drawn by
 * frontends with a Plotly renderer), `text/html` with the static SVG as a base64 `<img>` plus a
 * script that replaces it with the interactive plot when `window.Plotly` exists, and the text
 * rendering as `text/plain`.
 */
export function plotBundle(
  figure: PlotlyFigure,
  svg: string,
  plain: string,
  alt: string,
): MimeBundle {
  const id = uniqueId("gpt-plot");
  const img = `<img alt="${escapeHtml(alt)}" src="data:image/svg+xml;base64,${utf8Base64(svg)}" ` +
    `style="max-width:100%;height:auto">`;
  const script = `(function(){var e=document.getElementById(${scriptJson(id)}),P=window.Plotly;` +
    `if(!e||!P||!P.newPlot)return;var f=${
      scriptJson(figure)
    };var d=document.createElement("div");` +
    `e.appendChild(d);P.newPlot(d,f.data,f.layout,{displaylogo:false,responsive:true}).then(` +
    `function(){var i=e.querySelector("img");if(i)i.remove();},function(){d.remove();});})();`;
  return {
    "application/vnd.plotly.v1+json": figure,
    "text/html": `<div id="${id}" class="gpt-plot">${img}</div><script>${script}</script>`,
    "text/plain": plain,
  };
}

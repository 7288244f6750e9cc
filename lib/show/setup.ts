/**
 * The first call of every chapter: {@link setup} chooses the tfjs backend and, in Jupyter,
 * ships plotly.js and the layer's styles once.
 *
 * @module
 */
import { createRequire } from "node:module";
import { initBackend } from "../tensor.ts";
import { isQuick } from "../env.ts";
import { inJupyter, writeOut } from "./env.ts";
import { callerLine, flushBefore } from "./prose.ts";
import { escapeHtml } from "./text.ts";
import { display } from "./display.ts";

let plotlySource: string | undefined;

/** plotly.js (the cartesian bundle) from node_modules, made safe to inline in a `<script>`. */
function plotlyJs(): string {
  if (plotlySource === undefined) {
    const path = createRequire(import.meta.url).resolve("plotly.js-cartesian-dist-min");
    plotlySource = Deno.readTextFileSync(path).replace(/<\/script/gi, "<\\/script")
      .replace(/<!--/g, "<\\!--");
  }
  return plotlySource;
}

/** Styles for outputs of this layer. */
const CSS = `.gpt-plot img{display:block;max-width:100%;height:auto}
.gpt-formula math{font-size:1.1em}
.gpt-table td,.gpt-table th{border-bottom:1px solid #ddd}`;

/**
 * Call once at the top of a chapter: chooses the tfjs backend (`initBackend`), and in Jupyter
 * ships plotly.js once (a guarded inline script, so re-running the cell does not reload it)
 * with the layer's CSS. Then shows one line: the title, the backend, and "quick mode" when on.
 * It returns nothing, so that a cell ending with it shows no `Out[…]` value; call
 * `initBackend()` (instant once chosen) for the backend's details.
 */
export async function setup(opts: { title?: string } = {}): Promise<void> {
  const info = await initBackend();
  const summary = [opts.title, `backend: ${info.description}`, isQuick() ? "quick mode" : undefined]
    .filter(Boolean).join(" · ");
  if (inJupyter) {
    await display({
      "text/html": `<style>${CSS}</style><script>if(!window.Plotly){${plotlyJs()}\n}</script>` +
        `<div class="gpt-setup" style="font-family:monospace">${escapeHtml(summary)}</div>`,
      "text/plain": summary,
    });
  } else {
    flushBefore(callerLine());
    writeOut(summary + "\n");
  }
}

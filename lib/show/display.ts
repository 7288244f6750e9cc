/**
 * Outputs: {@link show} for values, {@link live} for an output replaced in place, and
 * {@link progress} for a loop's progress bar — each as one Jupyter output, or as text in a
 * terminal, after the chapter's prose above the calling line.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../tf_types.ts";
import type { Displayable, MimeBundle } from "./types.ts";
import { inJupyter, stdoutIsTerminal, terminalOptions, writeInPlace, writeOut } from "./env.ts";
import { isDisplayable, md, text } from "./bundle.ts";
import { heatmap } from "./charts.ts";
import { callerLine, defer, flushBefore, printDeferred } from "./prose.ts";
import { escapeHtml, formatNumber, uniqueId } from "./text.ts";

/**
 * Sends a bundle to Jupyter, then yields before the cell may end: Deno's kernel can report
 * a cell idle before its output has left, and the client then drops the output (seen with
 * Deno's kernel under Jupyter while this layer was written). A yield of 0 ms is enough for
 * ordinary outputs; a large one (setup's 1.5 MB plotly.js) needs longer to be serialised, so
 * the wait grows with the size, about 1 ms per 10 kB. Used by every output of this layer;
 * not part of the public API.
 */
export async function display(
  bundle: MimeBundle,
  opts: { display_id?: string; update?: boolean } = {},
) {
  await Deno.jupyter.display(bundle, { raw: true, ...opts });
  const size = Object.values(bundle).reduce<number>(
    (n, v) => n + (typeof v === "string" ? v.length : 0),
    0,
  );
  await new Promise((r) => setTimeout(r, Math.min(1000, Math.floor(size / 10_000))));
}

/** A tensor of rank ≠ 2 as text: its shape and dtype, then its values (8 per axis at most). */
function tensorText(t: Tensor): string {
  const fmt = (v: unknown): string => {
    if (!Array.isArray(v)) return typeof v === "number" ? formatNumber(v) : String(v);
    const items = v.length <= 8
      ? v.map(fmt)
      : [...v.slice(0, 3).map(fmt), "…", ...v.slice(-3).map(fmt)];
    return `[${items.join(", ")}]`;
  };
  return `Tensor ${t.dtype} [${t.shape.join(", ")}]\n${fmt(t.arraySync())}`;
}

function toDisplayable(
  item: Displayable | string | number | Tensor,
  index: number,
): Displayable {
  if (isDisplayable(item)) return item;
  if (typeof item === "string") return md(item);
  if (typeof item === "number") return text(formatNumber(item));
  if (item instanceof tf.Tensor) return item.rank === 2 ? heatmap(item) : text(tensorText(item));
  throw new Error(
    `show: item ${index} must be a Displayable, string, number or tensor, got ${
      item === null ? "null" : typeof item
    }`,
  );
}

/**
 * Shows each item: a `Displayable` as itself, a string as markdown, a number as text, a rank-2
 * tensor as a heatmap (other ranks as text). In Jupyter each becomes one output (awaited, then
 * one yield, so the kernel never drops it); in a terminal, first the chapter's prose above
 * the calling line, then each rendering.
 */
export async function show(...items: (Displayable | string | number | Tensor)[]): Promise<void> {
  const ds = items.map(toDisplayable);
  if (inJupyter) {
    for (const d of ds) await display(d.bundle());
    return;
  }
  flushBefore(callerLine());
  const opts = terminalOptions();
  for (const d of ds) writeOut(d.terminal(opts) + "\n");
}

/** An output that can be replaced in place, e.g. a loss curve during training. */
export interface LiveOutput {
  /** Replaces the output with `d`. */
  update(d: Displayable): Promise<void>;
}

/** How long a terminal waits between printing intermediate states of a live output. */
const LIVE_PRINT_INTERVAL_MS = 30_000;

/**
 * An output updated in place. In Jupyter: one output with a display id, replaced on each
 * `update`. In a terminal (where in-place redraws of big pictures would flood logs): the latest
 * state is printed once the chapter moves past this cell, or at exit, and meanwhile at most
 * every 30 s.
 */
export async function live(initial: Displayable): Promise<LiveOutput> {
  if (inJupyter) {
    const id = uniqueId("gpt-live");
    await display(initial.bundle(), { display_id: id });
    return { update: (d) => display(d.bundle(), { display_id: id, update: true }) };
  }
  const line = callerLine();
  flushBefore(line);
  let current = initial;
  const held = defer(line, () => current.terminal(terminalOptions()));
  return {
    update(d: Displayable): Promise<void> {
      current = d;
      held.pending = true;
      if (Date.now() - held.printedAt >= LIVE_PRINT_INTERVAL_MS) printDeferred(held);
      return Promise.resolve();
    },
  };
}

/** A progress bar for a loop. */
export interface Progress {
  /** Reports `done` steps of the total, with extra values to show (e.g. `{ loss: 2.31 }`). */
  tick(done: number, info?: Record<string, string | number>): Promise<void>;
  /** Shows the final state and ends the bar. */
  finish(info?: Record<string, string | number>): Promise<void>;
}

function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** `label ██████░░░░ 42/100 loss 2.31 · 1.2 s`. */
export function progressLine(
  label: string,
  done: number,
  total: number,
  info: Record<string, string | number>,
  elapsedMs: number,
): string {
  const frac = Math.min(1, Math.max(0, done / total));
  const filled = Math.round(frac * 20);
  const parts = Object.entries(info).map(([k, v]) =>
    `${k} ${typeof v === "number" ? formatNumber(v) : v}`
  );
  return [label, "█".repeat(filled) + "░".repeat(20 - filled), `${done}/${total}`, ...parts]
    .join(" ") + ` · ${formatElapsed(elapsedMs)}`;
}

/**
 * A progress bar over `total` steps. Jupyter: an HTML `<progress>` updated in place (at most
 * every 200 ms, and at `finish`). Terminal: the bar line rewritten with `\r` when stdout is a
 * TTY; otherwise a line each time another tenth is done, and one at `finish`.
 */
export async function progress(total: number, label: string): Promise<Progress> {
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new Error(`progress: total must be a positive finite number, got ${total}`);
  }
  const start = performance.now();
  let done = 0;
  let info: Record<string, string | number> = {};
  const line = () => progressLine(label, done, total, info, performance.now() - start);
  if (inJupyter) {
    const id = uniqueId("gpt-progress");
    const bundle = (): MimeBundle => {
      const l = line();
      const rest = l.slice(l.indexOf(`${done}/${total}`));
      return {
        "text/html":
          `<div style="font-family:monospace">${escapeHtml(label)} <progress value="${done}" ` +
          `max="${total}" style="width:16em;vertical-align:middle"></progress> ${
            escapeHtml(rest)
          }</div>`,
        "text/plain": l,
      };
    };
    await display(bundle(), { display_id: id });
    let shownAt = performance.now();
    return {
      async tick(d, inf) {
        done = d;
        if (inf) info = inf;
        if (performance.now() - shownAt < 200) return;
        shownAt = performance.now();
        await display(bundle(), { display_id: id, update: true });
      },
      async finish(inf) {
        if (inf) info = inf;
        await display(bundle(), { display_id: id, update: true });
      },
    };
  }
  flushBefore(callerLine());
  const tty = stdoutIsTerminal();
  let tenth = 0;
  let drawnAt = 0;
  if (tty) writeInPlace(line());
  return {
    tick(d, inf) {
      done = d;
      if (inf) info = inf;
      if (tty) {
        if (performance.now() - drawnAt >= 100) {
          drawnAt = performance.now();
          writeInPlace(line());
        }
      } else {
        const t = Math.floor((10 * done) / total);
        if (t > tenth && done < total) {
          tenth = t;
          writeOut(line() + "\n");
        }
      }
      return Promise.resolve();
    },
    finish(inf) {
      if (inf) info = inf;
      if (tty) {
        writeInPlace(line());
        writeOut("\n");
      } else writeOut(line() + "\n");
      return Promise.resolve();
    },
  };
}

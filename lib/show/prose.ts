/**
 * The prose cursor: when a chapter runs as a script (`deno run -A notebooks/01_x.ts`), its
 * markdown cells are comments, so the display layer prints them itself, each one just before
 * the first output of the code below it, and the rest when the program ends. It also holds
 * back terminal renderings of live outputs until the chapter has moved past their cell.
 * In Jupyter none of this happens: markdown cells render themselves.
 *
 * @module
 */
import { type Cell, parsePercent } from "./percent.ts";
import { closeLine, ensureBlankLine, inJupyter, terminalOptions, writeOut } from "./env.ts";
import { renderMarkdown } from "./terminal.ts";

interface Chapter {
  /** `Deno.mainModule`, as it appears in stack traces. */
  url: string;
  /** The markdown cells, in source order. */
  prose: Cell[];
  /** The marker line of every cell, ascending. */
  markers: number[];
}

let chapter: Chapter | null | undefined;
/** How many prose cells have been printed. */
let printed = 0;

/**
 * The main module as a percent-format chapter, or null when it is not one (no `// %%` marker,
 * not a local file, not readable) or when running in Jupyter.
 */
function loadChapter(): Chapter | null {
  if (chapter !== undefined) return chapter;
  chapter = null;
  if (inJupyter) return null;
  let url: string;
  let source: string;
  try {
    url = Deno.mainModule;
    if (!url.startsWith("file:")) return null;
    source = Deno.readTextFileSync(new URL(url));
  } catch {
    return null; // no read permission, or the main module is gone
  }
  if (!/^\/\/ %%/m.test(source)) return null;
  let cells: Cell[];
  try {
    cells = parsePercent(source);
  } catch (e) {
    throw new Error(`prose: cannot read the chapter ${url}: ${(e as Error).message}`);
  }
  chapter = {
    url,
    prose: cells.filter((c) => c.kind === "markdown"),
    markers: cells.map((c) => c.line),
  };
  return chapter;
}

/**
 * The line of the chapter's code that is running now: the outermost stack frame in the main
 * module (the top-level statement of the current cell, even when it calls a function defined
 * in an earlier cell). Undefined when not running a chapter or no frame is in it.
 */
export function callerLine(): number | undefined {
  const ch = loadChapter();
  if (!ch) return undefined;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const escaped = ch.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let line: number | undefined;
  for (const m of stack.matchAll(new RegExp(`${escaped}:(\\d+):\\d+`, "g"))) line = Number(m[1]);
  return line;
}

/** A terminal rendering held back until the chapter has moved on (a live output's latest state). */
export interface Deferred {
  /** The chapter line that created it (undefined outside a chapter). */
  line: number | undefined;
  /** Renders the latest state. */
  render: () => string;
  /** Whether the latest state has not been printed yet. */
  pending: boolean;
  /** `Date.now()` of the last print (or of creation). */
  printedAt: number;
}

const deferred: Deferred[] = [];

/** Registers a held-back rendering, pending from the start. */
export function defer(line: number | undefined, render: () => string): Deferred {
  const d: Deferred = { line, render, pending: true, printedAt: Date.now() };
  deferred.push(d);
  return d;
}

/** Prints a held-back rendering now. */
export function printDeferred(d: Deferred): void {
  writeOut(d.render() + "\n");
  d.pending = false;
  d.printedAt = Date.now();
}

function printProse(cell: Cell): void {
  if (cell.source.trim() === "") return;
  ensureBlankLine();
  writeOut(renderMarkdown(cell.source, terminalOptions()) + "\n");
  ensureBlankLine();
}

/** The first cell marker after `line` (Infinity when none): where the cell holding `line` ends. */
function cellEnd(ch: Chapter, line: number): number {
  return ch.markers.find((m) => m > line) ?? Infinity;
}

/**
 * Prints, in source order, the prose cells whose marker is above `line` and the held-back
 * renderings whose cell ends above `line`. Outside a chapter, prints every held-back rendering
 * but `except`. With `line` undefined in a chapter (caller unknown), prints nothing.
 */
export function flushBefore(line: number | undefined, except?: Deferred): void {
  if (inJupyter) return;
  const ch = loadChapter();
  if (!ch) {
    for (const d of deferred) if (d.pending && d !== except) printDeferred(d);
    return;
  }
  if (line === undefined) return;
  const items: { at: number; print: () => void }[] = [];
  for (; printed < ch.prose.length && ch.prose[printed].line < line; printed++) {
    const cell = ch.prose[printed];
    items.push({ at: cell.line, print: () => printProse(cell) });
  }
  for (const d of deferred) {
    if (d.pending && d !== except && cellEnd(ch, d.line ?? 0) <= line) {
      items.push({ at: d.line ?? 0, print: () => printDeferred(d) });
    }
  }
  items.sort((a, b) => a.at - b.at).forEach((it) => it.print());
}

/** Prints all remaining prose and held-back renderings (at exit). */
export function flushAll(): void {
  flushBefore(Infinity);
  for (const d of deferred) if (d.pending) printDeferred(d);
  closeLine();
}

/**
 * Prints the chapter's prose up to the line that calls it, for a cell that prints nothing
 * itself. Does nothing in Jupyter or outside a chapter.
 */
export function prose(): Promise<void> {
  flushBefore(callerLine());
  return Promise.resolve();
}

if (!inJupyter) {
  globalThis.addEventListener("unload", () => {
    try {
      flushAll();
    } catch (e) {
      writeOut(`\n(prose could not be printed: ${(e as Error).message})\n`);
    }
  });
}

/**
 * Where output goes: the Jupyter kernel or a terminal, the terminal's colour depth and width,
 * and synchronous writes to stdout that keep an in-place progress line tidy.
 *
 * @module
 */
import { readEnv } from "../env.ts";
import type { ColorMode, TerminalOptions } from "./types.ts";

function detectJupyter(): boolean {
  try {
    return typeof Deno.jupyter.display === "function";
  } catch {
    return false; // under `deno run`, reading Deno.jupyter throws
  }
}

/** True inside Deno's Jupyter kernel, false under `deno run` and `deno test`. */
export const inJupyter: boolean = detectJupyter();

/** Whether stdout is a terminal (false when piped or redirected). */
export function stdoutIsTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/**
 * The colour depth for stdout: `"none"` when `NO_COLOR` is set or stdout is not a TTY (unless
 * `FORCE_COLOR` is set: `FORCE_COLOR=0` means none, `3` truecolor, other values 256 colours);
 * `"truecolor"` when `COLORTERM` is `truecolor` or `24bit`; `"256"` otherwise.
 */
export function colorMode(): ColorMode {
  if (readEnv("NO_COLOR")) return "none";
  const truecolor = /^(truecolor|24bit)$/i.test(readEnv("COLORTERM") ?? "");
  const force = readEnv("FORCE_COLOR");
  if (force !== undefined && force !== "") {
    if (force === "0" || force === "false") return "none";
    return force === "3" || truecolor ? "truecolor" : "256";
  }
  if (!stdoutIsTerminal()) return "none";
  return truecolor ? "truecolor" : "256";
}

/** The terminal's width in columns when stdout is a TTY, else 100. */
export function terminalWidth(): number {
  if (stdoutIsTerminal()) {
    try {
      return Math.max(20, Deno.consoleSize().columns);
    } catch {
      // not a console after all
    }
  }
  return 100;
}

/** The colour depth and width to render for stdout now. */
export function terminalOptions(): TerminalOptions {
  return { color: colorMode(), width: terminalWidth() };
}

const encoder = new TextEncoder();
/** True while an in-place line (a progress bar) is on screen without its newline. */
let lineOpen = false;

function writeAll(bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** The last two characters written by {@link writeOut}, to know whether a blank line is due. */
let tail = "";

/** Writes `text` to stdout synchronously, first ending an open in-place line. */
export function writeOut(text: string): void {
  if (lineOpen) {
    writeAll(encoder.encode("\n"));
    lineOpen = false;
    tail = (tail + "\n").slice(-2);
  }
  if (text === "") return;
  writeAll(encoder.encode(text));
  tail = (tail + text).slice(-2);
}

/** Writes newlines until the output ends in an empty line (nothing at the very start). */
export function ensureBlankLine(): void {
  if (tail === "") return;
  writeOut(tail === "\n\n" ? "" : tail.endsWith("\n") ? "\n" : "\n\n");
}

/** Rewrites the current terminal line in place (`\r`, the text, clear to end of line). */
export function writeInPlace(text: string): void {
  writeAll(encoder.encode("\r" + text + "\x1b[K"));
  lineOpen = true;
}

/** Ends an open in-place line with a newline, if there is one. */
export function closeLine(): void {
  writeOut("");
}

/**
 * Terminal text: ANSI styles, markdown prose (headings, emphasis, code, lists, formulas as
 * Unicode, wrapped to the width with CJK counted as two columns) and aligned tables.
 *
 * @module
 */
import type { ColorMode, TerminalOptions } from "./types.ts";
import { texToUnicode } from "./tex_unicode.ts";
import { displayWidth, padEnd, padStart, wrap } from "./text.ts";

/** Wraps `s` in an ANSI SGR attribute (`on`…`off`), or returns it unchanged without colour. */
function sgr(s: string, on: number, off: number, mode: ColorMode): string {
  return mode === "none" ? s : `\x1b[${on}m${s}\x1b[${off}m`;
}

/** Bold text. */
export function bold(s: string, mode: ColorMode): string {
  return sgr(s, 1, 22, mode);
}

/** Dim text. */
export function dim(s: string, mode: ColorMode): string {
  return sgr(s, 2, 22, mode);
}

function underline(s: string, mode: ColorMode): string {
  return sgr(s, 4, 24, mode);
}

function italic(s: string, mode: ColorMode): string {
  return sgr(s, 3, 23, mode);
}

function codeStyle(s: string, mode: ColorMode): string {
  return mode === "none" ? "`" + s + "`" : sgr(s, 36, 39, mode);
}

/** Inline markdown: `code`, $math$ (as Unicode), links, **bold**, *italic*, backslash escapes. */
function inline(text: string, mode: ColorMode): string {
  const slots: string[] = [];
  const keep = (s: string) => `\uE010${slots.push(s) - 1}\uE011`;
  let s = text
    .replace(/`([^`]+)`/g, (_, c: string) => keep(codeStyle(c, mode)))
    .replace(/\$\$([^$]+)\$\$/g, (_, m: string) => keep(texToUnicode(m)))
    .replace(
      /(^|[^\\$])\$([^$\n]+?)\$/g,
      (_, pre: string, m: string) => pre + keep(texToUnicode(m)),
    )
    .replace(
      /\[([^\]]+)\]\(([^)\s]+)\)/g,
      (_, t: string, u: string) => (t === u ? u : `${t} ${dim("(" + u + ")", mode)}`),
    )
    .replace(/\*\*(.+?)\*\*|__(.+?)__/g, (_, a?: string, b?: string) => bold(a ?? b ?? "", mode))
    .replace(
      /(^|[^*\w])\*(?![\s*])([^*]+?)\*(?!\w)/g,
      (_, pre: string, t: string) => pre + italic(t, mode),
    )
    .replace(
      /(^|[^\w])_(?![\s_])([^_]+?)_(?!\w)/g,
      (_, pre: string, t: string) => pre + italic(t, mode),
    )
    .replace(/\\([\\`*_{}[\]()#+\-.!$|])/g, "$1");
  s = s.replace(/\uE010(\d+)\uE011/g, (_, i: string) => slots[Number(i)]);
  return s;
}

const CJK_END = /[\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60，。：；！？、）」』]$/u;
const CJK_START = /^[\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60，。：；！？、（「『]/u;

/** Joins the lines of a paragraph: with a space, except between two CJK characters. */
function joinLines(lines: string[]): string {
  return lines.reduce(
    (acc, l) => acc === "" ? l : acc + (CJK_END.test(acc) && CJK_START.test(l) ? "" : " ") + l,
    "",
  );
}

/**
 * Renders markdown for a terminal: headings bold (`#` also underlined; without colour,
 * underlined with `═`/`─`), emphasis, `code`, bullet and numbered lists, quotes, tables,
 * fenced code, `$…$` and `$$…$$` formulas as Unicode; paragraphs wrapped to `opts.width`.
 */
export function renderMarkdown(src: string, opts: TerminalOptions): string {
  const mode = opts.color;
  const width = Math.max(20, opts.width);
  const lines = src.replace(/\r\n/g, "\n").split("\n");
  const out: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push(...wrap(inline(joinLines(para), mode), width));
    para = [];
  };
  const isBlockStart = (l: string) =>
    /^\s*$|^\s*(#{1,6}\s|```|~~~|\$\$|>|\||([-*+]|\d+[.)])\s)/.test(l);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      const fence = line.trim().slice(0, 3);
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence); i++) {
        out.push("    " + dim(lines[i], mode));
      }
    } else if (/^\s*\$\$/.test(line)) {
      flush();
      let body = line.trim().slice(2);
      if (body.includes("$$")) body = body.slice(0, body.indexOf("$$"));
      else {
        for (i++; i < lines.length && !lines[i].includes("$$"); i++) body += "\n" + lines[i];
        if (i < lines.length) body += "\n" + lines[i].slice(0, lines[i].indexOf("$$"));
      }
      for (const l of texToUnicode(body).split("\n")) out.push("    " + l);
    } else if (/^\s*$/.test(line)) {
      flush();
      out.push("");
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      flush();
      const text = inline(m[2], mode);
      const level = m[1].length;
      if (mode !== "none") {
        out.push(level === 1 ? underline(bold(text, mode), mode) : bold(text, mode));
      } else {
        out.push(text);
        if (level <= 2) {
          out.push((level === 1 ? "═" : "─").repeat(Math.min(width, displayWidth(text))));
        }
      }
      out.push("");
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      out.push("─".repeat(Math.min(width, 40)));
    } else if (/^\s*\|.*\|\s*$/.test(line)) {
      flush();
      const rows: string[][] = [];
      for (; i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i]); i++) {
        const cells = lines[i].trim().slice(1, -1).split("|").map((c) => inline(c.trim(), mode));
        if (!cells.every((c) => /^:?-+:?$/.test(c))) rows.push(cells);
      }
      i--;
      const [header, ...body] = rows;
      out.push(tableLines(body, { header, mode, width }).join("\n"));
    } else if ((m = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/.exec(line))) {
      flush();
      const depth = Math.floor(m[1].length / 2);
      const bullet = /\d/.test(m[2]) ? m[2] : "•";
      const parts = [m[3]];
      while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]) && !isBlockStart(lines[i + 1])) {
        parts.push(lines[++i].trim());
      }
      const prefix = "  ".repeat(depth + 1) + bullet + " ";
      const pw = displayWidth(prefix);
      wrap(inline(joinLines(parts), mode), width - pw).forEach((l, k) => {
        out.push((k === 0 ? prefix : " ".repeat(pw)) + l);
      });
    } else if ((m = /^\s*>\s?(.*)$/.exec(line))) {
      flush();
      const parts = [m[1]];
      while (i + 1 < lines.length && /^\s*>/.test(lines[i + 1])) {
        parts.push(lines[++i].replace(/^\s*>\s?/, ""));
      }
      for (const l of wrap(inline(joinLines(parts), mode), width - 2)) {
        out.push(dim("│ ", mode) + l);
      }
    } else {
      para.push(line.trim());
    }
  }
  flush();
  const text = out.join("\n").replace(/\n{3,}/g, "\n\n");
  return text.replace(/^\n+|\n+$/g, "");
}

/**
 * Lines of an aligned text table: columns separated by two spaces, `right` columns (numbers)
 * right-aligned, the header bold (underlined with `─` without colour). When the table is wider
 * than `width` display columns (CJK counted as two), the widest columns are narrowed to a common
 * cap and their cells wrap onto continuation lines, in which the first column is blank; numbers
 * are never wrapped (a number column narrows only to its widest number, wrapping its header).
 */
export function tableLines(
  rows: string[][],
  opts: { header?: string[]; right?: boolean[]; mode: ColorMode; width?: number },
): string[] {
  const all = opts.header ? [opts.header, ...rows] : rows;
  const ncol = Math.max(0, ...all.map((r) => r.length));
  const natural = Array.from(
    { length: ncol },
    (_, j) => Math.max(0, ...all.map((r) => displayWidth(r[j] ?? ""))),
  );
  const widths = fitColumns(natural, rows, opts.right ?? [], opts.width ?? Infinity);
  const fmt = (r: string[]) => {
    const cells = widths.map((w, j) => cellLines(r[j] ?? "", w));
    const height = Math.max(1, ...cells.map((c) => c.length));
    return Array.from({ length: height }, (_, i) =>
      widths.map((w, j) => {
        const piece = cells[j][i] ?? "";
        return opts.right?.[j] ? padStart(piece, w) : padEnd(piece, w);
      }).join("  ").replace(/\s+$/, ""));
  };
  const lines: string[] = [];
  if (opts.header) {
    lines.push(...fmt(opts.header).map((l) => bold(l, opts.mode)));
    lines.push(widths.map((w) => "─".repeat(w)).join("  "));
  }
  for (const r of rows) lines.push(...fmt(r));
  return lines;
}

/** The narrowest a text column is made to fit a table into the terminal. */
const MIN_COLUMN = 12;

/**
 * Column widths that fit `total` columns (two spaces between columns): every column wider than a
 * cap c is cut to c, with c the largest that fits, but never below its floor: the first column
 * (the rows' labels) keeps its width unless that is over 40% of the total, so continuation lines
 * start blank; a number (`right`) column keeps its widest number (numbers never wrap; a long
 * header does); other columns keep {@link MIN_COLUMN}. When even the floors do not fit, the table
 * overflows.
 */
function fitColumns(
  natural: number[],
  rows: string[][],
  right: boolean[],
  total: number,
): number[] {
  const room = total - 2 * Math.max(0, natural.length - 1);
  const floors = natural.map((w, j) =>
    j === 0 && w <= total * 0.4 ? w : Math.min(
      w,
      right[j] ? Math.max(1, ...rows.map((r) => displayWidth(r[j] ?? ""))) : MIN_COLUMN,
    )
  );
  const widths = (cap: number) => natural.map((w, j) => Math.max(floors[j], Math.min(w, cap)));
  const sum = (cap: number) => widths(cap).reduce((s, w) => s + w, 0);
  if (sum(Infinity) <= room) return natural;
  let cap = Math.max(0, ...natural);
  while (cap > 1 && sum(cap) > room) cap--;
  return widths(cap);
}

/**
 * A cell's text as lines of at most `width` columns: broken at spaces when it has any (so a list
 * of tokens keeps each token whole), else wrapped as prose; a piece still too long is cut.
 */
function cellLines(cell: string, width: number): string[] {
  if (displayWidth(cell) <= width) return [cell];
  const lines: string[] = [];
  if (/\S\s+\S/.test(cell)) {
    for (const word of cell.trim().split(/\s+/)) {
      const last = lines.length - 1;
      if (last >= 0 && displayWidth(lines[last]) + 1 + displayWidth(word) <= width) {
        lines[last] += " " + word;
      } else lines.push(word);
    }
  } else lines.push(...wrap(cell, width));
  return lines.flatMap((line) => {
    const pieces: string[] = [];
    let rest = line;
    while (displayWidth(rest) > width) {
      let piece = "";
      for (const ch of rest) {
        if (displayWidth(piece + ch) > width) break;
        piece += ch;
      }
      if (piece === "") piece = [...rest][0];
      pieces.push(piece);
      rest = rest.slice(piece.length);
    }
    return [...pieces, rest];
  });
}

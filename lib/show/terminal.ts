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
      out.push(tableLines(body, { header, mode }).join("\n"));
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
 * right-aligned, the header bold (underlined with `─` without colour).
 */
export function tableLines(
  rows: string[][],
  opts: { header?: string[]; right?: boolean[]; mode: ColorMode },
): string[] {
  const all = opts.header ? [opts.header, ...rows] : rows;
  const ncol = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from(
    { length: ncol },
    (_, j) => Math.max(0, ...all.map((r) => displayWidth(r[j] ?? ""))),
  );
  const fmt = (r: string[]) =>
    widths.map((w, j) => (opts.right?.[j] ? padStart(r[j] ?? "", w) : padEnd(r[j] ?? "", w)))
      .join("  ").replace(/\s+$/, "");
  const lines: string[] = [];
  if (opts.header) {
    lines.push(bold(fmt(opts.header), opts.mode));
    lines.push(widths.map((w) => "─".repeat(w)).join("  "));
  }
  for (const r of rows) lines.push(fmt(r));
  return lines;
}

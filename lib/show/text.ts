/**
 * Plain-text helpers shared by every renderer: number formatting, terminal display width
 * (CJK characters take two columns), word wrapping, and escaping for HTML and scripts.
 *
 * @module
 */

/** A number split for display: `mantissa × 10^exponent`, or just `mantissa` when `exponent` is null. */
interface NumberParts {
  mantissa: string;
  exponent: number | null;
}

/** Removes trailing zeros after a decimal point: `"0.7860"` → `"0.786"`, `"1.000"` → `"1"`. */
function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/**
 * Splits `x` into a mantissa with `sig` significant digits and a power of ten. Integers below
 * 10⁶ are kept exact; other numbers use plain notation when 10⁻³ ≤ |x| < 10⁵, scientific otherwise.
 */
function numberParts(x: number, sig: number): NumberParts {
  const ax = Math.abs(x);
  if (x === 0 || (Number.isInteger(x) && ax < 1e6)) return { mantissa: String(x), exponent: null };
  if (ax >= 1e-3 && ax < 1e5) {
    const s = x.toPrecision(sig);
    if (!s.includes("e")) return { mantissa: trimZeros(s), exponent: null };
  }
  const [m, e] = x.toExponential(sig - 1).split("e");
  return { mantissa: trimZeros(m), exponent: Number(e) };
}

/**
 * Formats a number for text with `sig` significant digits (default 4): `0.786`, `42`,
 * `2.061e-9`; `NaN`, `∞`, `-∞` for the non-finite values.
 */
export function formatNumber(x: number, sig = 4): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
  const p = numberParts(x, sig);
  return p.exponent === null ? p.mantissa : `${p.mantissa}e${p.exponent}`;
}

/**
 * Formats a number as LaTeX with `sig` significant digits: `0.786`, `2.061\times10^{-9}`,
 * `\infty`, `\text{NaN}`.
 */
export function texNumber(x: number, sig = 4): string {
  if (Number.isNaN(x)) return String.raw`\text{NaN}`;
  if (!Number.isFinite(x)) return x > 0 ? String.raw`\infty` : String.raw`-\infty`;
  const p = numberParts(x, sig);
  return p.exponent === null ? p.mantissa : `${p.mantissa}\\times10^{${p.exponent}}`;
}

/** Formats with a fixed number of decimals (`-0.00` prints as `0.00`), or `formatNumber` when `digits` is undefined. */
export function formatFixed(x: number, digits?: number): string {
  if (digits === undefined || !Number.isFinite(x)) return formatNumber(x);
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Removes ANSI SGR escape sequences. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** Code point ranges that a terminal draws two columns wide (East Asian Wide and Fullwidth). */
const WIDE: [number, number][] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

/** True for a character a terminal draws two columns wide. */
export function isWide(cp: number): boolean {
  return WIDE.some(([a, b]) => cp >= a && cp <= b);
}

/** Columns one code point takes: 0 for combining marks and zero-width characters, 2 for wide ones. */
function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (
    (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f)
  ) return 0;
  return isWide(cp) ? 2 : 1;
}

/** The number of terminal columns `s` occupies, ignoring ANSI escapes: `displayWidth("编程")` is 4. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Pads `s` on the right with spaces to `width` display columns. */
export function padEnd(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

/** Pads `s` on the left with spaces to `width` display columns. */
export function padStart(s: string, width: number): string {
  return " ".repeat(Math.max(0, width - displayWidth(s))) + s;
}

/** Cuts plain text (no ANSI escapes) to at most `width` columns, ending in `…` when cut. */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return "";
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + "…";
}

/** Character ranges of CJK text, where a line may break between any two characters. */
const CJK =
  "\\u1100-\\u115f\\u2e80-\\ua4cf\\uac00-\\ud7a3\\uf900-\\ufaff\\ufe30-\\ufe4f\\uff00-\\uff60\\u{20000}-\\u{3fffd}";
/** Wrapping units: an ANSI escape, a run of spaces, one CJK character, or a word. */
const WRAP_TOKEN = new RegExp(`\\x1b\\[[0-9;]*m|\\s+|[${CJK}]|[^\\s\\x1b${CJK}]+`, "gu");

/**
 * Greedy word wrap to `width` columns. Breaks at spaces and between CJK characters; ANSI
 * escapes take no room; a word longer than the line is left whole.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  let w = 0;
  let hasWord = false;
  for (const tok of text.match(WRAP_TOKEN) ?? []) {
    if (tok.startsWith("\x1b")) {
      line += tok;
    } else if (/^\s+$/.test(tok)) {
      if (hasWord) {
        line += " ";
        w += 1;
      }
    } else {
      const tw = displayWidth(tok);
      if (w + tw > width && hasWord) {
        lines.push(line.replace(/ +$/, ""));
        line = "";
        w = 0;
      }
      line += tok;
      w += tw;
      hasWord = true;
    }
  }
  lines.push(line.replace(/ +$/, ""));
  return lines;
}

/** Escapes `& < > " '` for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/**
 * JSON for a value placed inside an inline `<script>`: `<`, `>` and `&` become `\u003c` etc.
 * (so `</script>` and `<!--` cannot occur), and U+2028/U+2029 are escaped.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Base64 of the UTF-8 bytes of `s` (so Chinese text survives, unlike `btoa(s)`). */
export function utf8Base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

let idCounter = 0;
const idSession = crypto.randomUUID().slice(0, 8);

/** A DOM id unique within this process and unlikely to clash across kernel restarts: `prefix-1a2b3c4d-7`. */
export function uniqueId(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idSession}-${idCounter}`;
}

/**
 * Formulas: KaTeX MathML for Jupyter (with a TeX fallback that MathJax typesets where scripts
 * do not run), `$$…$$` for `text/latex`, and a Unicode rendering for terminals and `text/plain`.
 *
 * @module
 */
import katex from "katex";
import * as tf from "@tensorflow/tfjs";
import type { Displayable, MimeBundle } from "./types.ts";
import { escapeHtml, scriptJson, texNumber, uniqueId } from "./text.ts";
import { isMathAlphabet, styledChar, texToUnicode } from "./tex_unicode.ts";

/** The font list set on every `<math>` element: fonts with an OpenType MATH table first. */
export const MATH_FONTS = `"Latin Modern Math", "TeX Gyre Termes Math", "STIX Two Math", math`;

/**
 * KaTeX's MathML for `latex`, adjusted for Chromium's native MathML: letters with a
 * `mathvariant` Chromium ignores become Unicode (ℝ, ℒ, 𝐖), and the `<math>` element carries
 * the math font list.
 */
export function mathml(latex: string, display: boolean): string {
  const html = katex.renderToString(latex, {
    output: "mathml",
    displayMode: display,
    throwOnError: true,
  });
  const m = /<math[\s\S]*<\/math>/.exec(html);
  if (!m) throw new Error(`formula: KaTeX returned no <math> element for ${latex}`);
  return m[0]
    .replace(
      /<mi mathvariant="([a-z-]+)">([^<]*)<\/mi>/g,
      (all, variant: string, text: string) =>
        isMathAlphabet(variant)
          ? `<mi>${[...text].map((c) => styledChar(c, variant)).join("")}</mi>`
          : all,
    )
    .replace(/^<math /, `<math style="font-family: ${MATH_FONTS.replace(/"/g, "'")}" `);
}

// ───────────────────────────── formula and tex`` ─────────────────────────────

/**
 * A formula. In Jupyter: KaTeX MathML inserted by a script over a visible `\[TeX\]` fallback
 * (`text/html`), `$$TeX$$` (`text/latex`) and the Unicode rendering (`text/plain`); in a terminal,
 * the Unicode rendering. `plain` overrides the derived Unicode; `display: false` gives inline math.
 * Throws at once when KaTeX cannot parse `latex`.
 */
export function formula(
  latex: string,
  opts: { plain?: string; display?: boolean } = {},
): Displayable {
  const display = opts.display ?? true;
  let math: string;
  try {
    math = mathml(latex, display);
  } catch (e) {
    throw new Error(
      `formula: KaTeX cannot parse ${JSON.stringify(latex)}: ${(e as Error).message}`,
    );
  }
  const plain = opts.plain ?? texToUnicode(latex);
  return {
    bundle(): MimeBundle {
      const id = uniqueId("gpt-math");
      const tag = display ? "div" : "span";
      const style = display ? ` style="text-align:center;margin:0.6em 0;font-size:1.15em"` : "";
      const fallback = display ? `\\[${latex}\\]` : `\\(${latex}\\)`;
      const html =
        `<${tag} id="${id}" class="gpt-formula"${style}>${escapeHtml(fallback)}</${tag}>` +
        `<script>(function(){var e=document.getElementById(${scriptJson(id)});` +
        `if(e){e.innerHTML=${scriptJson(math)};}})();</script>`;
      return {
        "text/html": html,
        "text/latex": display ? `$$${latex}$$` : `$${latex}$`,
        "text/plain": plain,
      };
    },
    terminal(): string {
      return display ? plain.split("\n").map((l) => "    " + l).join("\n") : plain;
    },
  };
}

/** Keeps the first and last 3 of more than 8 entries, `null` marking the elided middle. */
function elide<T>(xs: T[]): (T | null)[] {
  return xs.length <= 8 ? xs : [...xs.slice(0, 3), null, ...xs.slice(-3)];
}

function texRow(xs: number[], dots = String.raw`\cdots`): string {
  return elide(xs).map((v) => (v === null ? dots : texNumber(v))).join(" & ");
}

/** A matrix as `\begin{bmatrix}…\end{bmatrix}`, eliding rows and columns beyond 8. */
function texMatrix(rows: number[][]): string {
  const width = rows[0]?.length ?? 0;
  const body = elide(rows).map((r) => {
    if (r !== null) return texRow(r);
    const cols = elide(Array.from({ length: width }, (_, j) => j));
    return cols.map((c) => (c === null ? String.raw`\ddots` : String.raw`\vdots`)).join(" & ");
  });
  return String.raw`\begin{bmatrix}` + body.join(String.raw` \\ `) + String.raw`\end{bmatrix}`;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

/** The LaTeX for one interpolated value of `tex```. */
function texValue(v: unknown, index: number): string {
  if (typeof v === "number") return texNumber(v);
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof tf.Tensor) {
    if (v.rank > 2 || v.dtype === "string") {
      throw new Error(
        `tex: value ${index} must be a numeric tensor of rank ≤ 2, got rank ${v.rank} ${v.dtype} [${v.shape}]`,
      );
    }
    return texValue(v.arraySync(), index);
  }
  if (isNumberArray(v)) return String.raw`\begin{bmatrix}` + texRow(v) + String.raw`\end{bmatrix}`;
  if (Array.isArray(v) && v.length > 0 && v.every(isNumberArray)) {
    const w = v[0].length;
    v.forEach((r, i) => {
      if (r.length !== w) {
        throw new Error(`tex: value ${index}: row ${i} has ${r.length} entries, expected ${w}`);
      }
    });
    return texMatrix(v);
  }
  throw new Error(
    `tex: value ${index} must be a number, number[], number[][], tensor or string, got ${
      v === null ? "null" : Array.isArray(v) ? "an array of other things" : typeof v
    }`,
  );
}

/**
 * Tagged template for a display formula with live numbers:
 * ``tex`\mathrm{softmax}(x) = ${probs}` `` with `probs = [0.786, 0.214]` gives
 * `\mathrm{softmax}(x) = \begin{bmatrix}0.786 & 0.214\end{bmatrix}`. Numbers get 4 significant
 * digits (`2.061\times10^{-9}` when tiny or huge); `number[]` is a row vector; `number[][]` and
 * tensors of rank ≤ 2 are matrices, eliding middle rows/columns beyond 8; strings are inserted
 * verbatim. The literal parts are taken raw (`String.raw`), so `\frac` needs no doubled backslash.
 */
export function tex(strings: TemplateStringsArray, ...values: unknown[]): Displayable {
  let latex = strings.raw[0];
  values.forEach((v, i) => {
    latex += texValue(v, i) + strings.raw[i + 1];
  });
  return formula(latex);
}

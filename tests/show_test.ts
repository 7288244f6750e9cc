// The display layer: MIME bundles, formulas (KaTeX MathML, TeX, Unicode), charts (Plotly JSON,
// static SVG, terminal text), tables, widths, progress output and the prose cursor of scripts.
import { assert, assertEquals, assertMatch, assertStringIncludes, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import {
  barChart,
  type Displayable,
  displayWidth,
  formula,
  heatmap,
  lineChart,
  md,
  type MimeBundle,
  table,
  tex,
  texToUnicode,
} from "../lib/show/mod.ts";
import { formatNumber, utf8Base64, wrap } from "../lib/show/text.ts";
import { initBackend } from "../lib/tensor.ts";
import { renderMarkdown } from "../lib/show/terminal.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NONE = { color: "none", width: 100 } as const;
const C256 = { color: "256", width: 100 } as const;
const TOKENS = ["我", "爱", "编程"];

await initBackend();

function mimes(d: Displayable): string[] {
  return Object.keys(d.bundle()).sort();
}

/** The SVG inside a chart's text/html `<img src="data:image/svg+xml;base64,…">`. */
function svgOf(bundle: MimeBundle): string {
  const m = /data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(bundle["text/html"] as string);
  assert(m, "text/html holds a base64 SVG image");
  return new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
}

interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, Record<string, unknown>>;
}

function figureOf(bundle: MimeBundle): Figure {
  return bundle["application/vnd.plotly.v1+json"] as Figure;
}

Deno.test("each kind of output carries the MIME types its frontends need", () => {
  const chart = ["application/vnd.plotly.v1+json", "text/html", "text/plain"];
  assertEquals(mimes(md("# hi")), ["text/markdown", "text/plain"]);
  assertEquals(mimes(formula("x^2")), ["text/html", "text/latex", "text/plain"]);
  assertEquals(mimes(tex`x = ${1}`), ["text/html", "text/latex", "text/plain"]);
  assertEquals(mimes(heatmap([[1, 2], [3, 4]])), chart);
  assertEquals(mimes(lineChart([{ name: "loss", y: [3, 2, 1] }])), chart);
  assertEquals(mimes(barChart(["a", "b"], [1, 2])), chart);
  assertEquals(mimes(table([["a", 1]])), ["text/html", "text/plain"]);
});

Deno.test("formula: MathML with the math font list over a visible TeX fallback, $$TeX$$, Unicode", () => {
  const latex = String.raw`W \in \mathbb{R}^{d} , \mathcal{L}_1`;
  const b = formula(latex).bundle();
  const html = b["text/html"] as string;
  // The fallback MathJax typesets where scripts do not run: \[TeX\], HTML-escaped.
  assertStringIncludes(html, String.raw`>\[W \in \mathbb{R}^{d} , \mathcal{L}_1\]</div>`);
  // The MathML goes in through the script as a JSON string: "<" is escaped, so the only
  // closing script tag is the script's own.
  assertStringIncludes(
    html,
    String
      .raw`\u003cmath style=\"font-family: 'Latin Modern Math', 'TeX Gyre Termes Math', 'STIX Two Math', math\"`,
  );
  assertEquals(html.split("</script>").length, 2);
  // Chromium ignores mathvariant: ℝ and ℒ are written as Unicode letters.
  assertStringIncludes(html, String.raw`\u003cmi\u003eℝ\u003c/mi\u003e`);
  assertStringIncludes(html, String.raw`\u003cmi\u003eℒ\u003c/mi\u003e`);
  assertEquals(b["text/latex"], `$$${latex}$$`);
  assertEquals(b["text/plain"], "W ∈ ℝᵈ , ℒ₁");
  const inline = formula("x", { display: false, plain: "ex" }).bundle();
  assertEquals(inline["text/latex"], "$x$");
  assertEquals(inline["text/plain"], "ex");
  assertStringIncludes(inline["text/html"] as string, String.raw`<span id=`);
  assertStringIncludes(inline["text/html"] as string, String.raw`\(x\)`);
});

Deno.test("formula: text that would end the script is escaped, and bad TeX fails at once", () => {
  const html = formula(String.raw`\text{</script><b>}`).bundle()["text/html"] as string;
  assertEquals(html.split("</script>").length, 2);
  assertStringIncludes(html, "&lt;/script&gt;&lt;b&gt;");
  assertThrows(() => formula(String.raw`\frac{1}{`), Error, "KaTeX cannot parse");
});

Deno.test("tex``: numbers with 4 significant digits, arrays and tensors as bmatrix", () => {
  const latex = (d: Displayable) => (d.bundle()["text/latex"] as string).slice(2, -2);
  assertEquals(latex(tex`p = ${0.78600001}`), "p = 0.786");
  assertEquals(latex(tex`\epsilon = ${2.0612e-9}`), String.raw`\epsilon = 2.061\times10^{-9}`);
  assertEquals(
    latex(tex`${123456.7} ${42} ${-0.5} ${1e-3}`),
    String.raw`1.235\times10^{5} 42 -0.5 0.001`,
  );
  assertEquals(latex(tex`\frac{a}{${"b"}}`), String.raw`\frac{a}{b}`);
  assertEquals(
    latex(tex`x = ${[1, 2.5, -3]}`),
    String.raw`x = \begin{bmatrix}1 & 2.5 & -3\end{bmatrix}`,
  );
  assertEquals(
    latex(tex`${[[1, 2], [3, 4]]}`),
    String.raw`\begin{bmatrix}1 & 2 \\ 3 & 4\end{bmatrix}`,
  );
  assertEquals(
    latex(tex`${Array.from({ length: 10 }, (_, i) => i)}`),
    String.raw`\begin{bmatrix}0 & 1 & 2 & \cdots & 7 & 8 & 9\end{bmatrix}`,
  );
  const big = Array.from({ length: 9 }, (_, i) => Array.from({ length: 9 }, (_, j) => 10 * i + j));
  assertEquals(
    latex(tex`${big}`),
    String
      .raw`\begin{bmatrix}0 & 1 & 2 & \cdots & 6 & 7 & 8 \\ 10 & 11 & 12 & \cdots & 16 & 17 & 18 \\ ` +
      String
        .raw`20 & 21 & 22 & \cdots & 26 & 27 & 28 \\ \vdots & \vdots & \vdots & \ddots & \vdots & \vdots & \vdots \\ ` +
      String.raw`60 & 61 & 62 & \cdots & 66 & 67 & 68 \\ 70 & 71 & 72 & \cdots & 76 & 77 & 78 \\ ` +
      String.raw`80 & 81 & 82 & \cdots & 86 & 87 & 88\end{bmatrix}`,
  );
  const t = tf.tensor2d([[0.5, 0.25], [0.125, 1]]);
  assertEquals(latex(tex`${t}`), String.raw`\begin{bmatrix}0.5 & 0.25 \\ 0.125 & 1\end{bmatrix}`);
  t.dispose();
  assertEquals(tex`x = ${[0.1, 0.2]}`.bundle()["text/plain"], "x = [0.1, 0.2]");
  assertThrows(() => tex`${{ a: 1 }}`, Error, "tex: value 0 must be a number");
  assertThrows(() => tex`${[[1, 2], [3]]}`, Error, "row 1 has 1 entries, expected 2");
});

Deno.test("texToUnicode: the article's formulas", () => {
  assertEquals(
    texToUnicode(String.raw`\mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V`),
    "softmax(QKᵀ/√dₖ)V",
  );
  assertEquals(
    texToUnicode(String.raw`PE(pos,2i)=\sin\left(\frac{pos}{10000^{2i/d}}\right)`),
    "PE(pos,2i)=sin(pos/10000^(2i/d))",
  );
  assertEquals(
    texToUnicode(String.raw`L_1(U)=\sum_{i}\log P(u_i \mid u_{i-k}\ldots u_{i-1}; \Theta)`),
    "L₁(U)=Σᵢ log P(uᵢ ∣ uᵢ₋ₖ…uᵢ₋₁; Θ)",
  );
  assertEquals(
    texToUnicode(String.raw`L_3(\mathcal{C}) = L_2(\mathcal{C}) + \lambda \cdot L_1(\mathcal{C})`),
    "L₃(𝒞) = L₂(𝒞) + λ · L₁(𝒞)",
  );
  assertEquals(
    texToUnicode(String.raw`P(y \mid x^1, \ldots, x^m) = \operatorname{softmax}(h_l^m W_y)`),
    "P(y ∣ x¹, …, xᵐ) = softmax(hₗᵐ W_y)",
  );
  assertEquals(
    texToUnicode(String.raw`h_0 = UW_e + W_p,\quad h_l = \text{transformer\_block}(h_{l-1})`),
    "h₀ = UWₑ + Wₚ,  hₗ = transformer_block(hₗ₋₁)",
  );
  assertEquals(
    texToUnicode(String.raw`W \in \mathbb{R}^{d_{\text{model}} \times d_k}`),
    "W ∈ ℝ^(d_(model)×dₖ)",
  );
  assertEquals(
    texToUnicode(String.raw`\begin{bmatrix}1 & 2 \\ 3 & 4\end{bmatrix} \approx \frac{a+b}{2}`),
    "[1, 2; 3, 4] ≈ (a+b)/2",
  );
  // The space after a control word is dropped (TeX), but not before a relation written out.
  assertEquals(texToUnicode(String.raw`a, \qquad \lambda = 0.5`), "a,    λ = 0.5");
  assertEquals(texToUnicode(String.raw`\alpha \beta`), "αβ");
});

Deno.test("heatmap: Plotly JSON with the labels, an SVG with one rect per cell and the Chinese labels", () => {
  const z = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]];
  const b = heatmap(z, { x: TOKENS, y: ["行一", "行二"], title: "注意力", zmin: -1, zmax: 1 })
    .bundle();
  const fig = figureOf(b);
  assertEquals(fig.data[0].type, "heatmap");
  assertEquals(fig.data[0].z, z);
  assertEquals(fig.layout.xaxis.ticktext, TOKENS);
  assertEquals(fig.layout.yaxis.ticktext, ["行一", "行二"]);
  assertEquals(fig.layout.yaxis.autorange, "reversed");
  assertEquals(fig.layout.title, { text: "注意力" });
  const svg = svgOf(b);
  assertEquals(svg.match(/<rect class="c"/g)?.length, 6);
  for (const label of [...TOKENS, "行一", "行二", "注意力"]) {
    assertStringIncludes(svg, `>${label}</text>`);
  }
  // -1 → the diverging scale's first colour, 0 → its white middle, 1 → its last colour.
  const svg3 = svgOf(heatmap([[-1, 0, 1]]).bundle());
  const fills = [...svg3.matchAll(/<rect class="c"[^>]*fill="(#\w+)"/g)].map((m) => m[1]);
  assertEquals(fills, ["#2166ac", "#f7f7f7", "#b2182b"]);
  assertStringIncludes(b["text/html"] as string, "window.Plotly");
  assertMatch(b["text/html"] as string, /<div id="gpt-plot-[\w-]+" class="gpt-plot"><img /);
});

Deno.test("heatmap: tensors, masked cells and bad input", () => {
  const t = tf.tensor2d([[1, 2], [3, 4]]);
  assertEquals(figureOf(heatmap(t).bundle()).data[0].z, [[1, 2], [3, 4]]);
  t.dispose();
  const masked = figureOf(heatmap([[1, -Infinity], [NaN, 2]]).bundle());
  assertEquals(masked.data[0].z, [[1, null], [null, 2]]);
  assertThrows(() => heatmap([[1, 2], [3]]), Error, "row 1 has 1 values, expected 2");
  assertThrows(() => heatmap([[1, 2]], { x: ["a"] }), Error, "expected 2 labels, got 1");
  const t3 = tf.zeros([2, 2, 2]);
  assertThrows(() => heatmap(t3), Error, "expected a rank-2 tensor, got rank 3");
  t3.dispose();
});

Deno.test("heatmap in a terminal: shaded grid without colour, ANSI cells with 256 colours", () => {
  const h = heatmap([[0, 0.5, 1], [1, 0.5, 0]], { x: TOKENS, y: ["r1", "r2"], title: "T" });
  const lines = h.terminal(NONE).split("\n");
  assertEquals(lines[0], "T");
  assertEquals(lines[1], "       我     爱   编程"); // labels right-aligned over the values
  assertEquals(lines[2], "r1   0.00 ▒ 0.50 █ 1.00");
  assertEquals(lines[3], "r2 █ 1.00 ▒ 0.50   0.00");
  assertEquals(lines[4], "scale [ ░▒▓█] 0 … 1");
  assertEquals(lines.length, 5);
  assert(!h.terminal(NONE).includes("\x1b"), "no escapes without colour");
  const colored = h.terminal(C256);
  assertStringIncludes(colored, "\x1b[48;5;");
  assertStringIncludes(colored, "1.00");
  assertStringIncludes(h.terminal({ color: "truecolor", width: 100 }), "\x1b[48;2;");
  // A large matrix: half blocks averaged down to the width, two rows per line.
  const big = Array.from({ length: 40 }, (_, i) => Array.from({ length: 200 }, (_, j) => i + j));
  const half = heatmap(big).terminal({ color: "256", width: 80 }).split("\n");
  assertEquals(half.filter((l) => l.includes("▀")).length, 8); // 40 rows / (200/79) ≈ 16 → 8 lines
  assertStringIncludes(half.join("\n"), "40×200, averaged to 16×79");
  // ...and without colour, one shading glyph per averaged cell.
  const plainBig = heatmap(big).terminal({ color: "none", width: 80 }).split("\n");
  assert(plainBig.every((l) => displayWidth(l) <= 80), "fits the width");
});

Deno.test("lineChart and barChart: figures, SVG and text", () => {
  const lc = lineChart(
    [{ name: "train", y: [4, 2, 1, 0.5] }, { name: "val", x: [0, 2], y: [4.5, 1.5] }],
    { title: "loss", logY: true },
  );
  const fig = figureOf(lc.bundle());
  assertEquals(fig.data.map((d) => d.type), ["scatter", "scatter"]);
  assertEquals(fig.data[0].x, [0, 1, 2, 3]);
  assertEquals(fig.layout.yaxis.type, "log");
  assertEquals(svgOf(lc.bundle()).match(/<polyline /g)?.length, 2);
  const text = lc.terminal(NONE);
  assertMatch(text, /[\u2801-\u28ff]/); // braille dots
  assertStringIncludes(text, "── train  last 0.5  min 0.5  max 4");
  assertThrows(
    () => lineChart([{ name: "a", x: [1], y: [1, 2] }]),
    Error,
    "1 x values but 2 y values",
  );

  const bc = barChart(["的", "是", "猫"], [0.5, 0.3, 0.2], { highlight: [1] });
  const bars = figureOf(bc.bundle()).data[0] as { type: string; marker: { color: string[] } };
  assertEquals(bars.type, "bar");
  assertEquals(bars.marker.color, ["rgb(31,119,180)", "rgb(230,85,13)", "rgb(31,119,180)"]);
  assertEquals(svgOf(bc.bundle()).match(/<rect class="bar"/g)?.length, 3);
  const rows = bc.terminal({ color: "none", width: 40 }).split("\n");
  assertEquals(rows.length, 3);
  assertEquals(rows[0], "的 │█████████████████████████████ 0.5"); // the longest bar fills 29 cells
  assertEquals(rows[1], "是 │█████████████████▍            0.3 ◀"); // 0.3/0.5 × 29 = 17.4 cells
  assertThrows(() => barChart(["a"], [1, 2]), Error, "has 2 values, expected 1");
  assertThrows(() => barChart(["a"], [1], { highlight: [3] }), Error, "highlight index 3");
});

Deno.test("table: HTML and aligned text, numbers right-aligned", () => {
  const t = table([["编程", 1.23456], ["cat", 22]], { header: ["token", "p"], title: "T" });
  const b = t.bundle();
  assertStringIncludes(
    b["text/html"] as string,
    '<th style="text-align:left;padding:2px 10px">token</th>',
  );
  assertStringIncludes(
    b["text/html"] as string,
    '<td style="text-align:right;padding:2px 10px">1.235</td>',
  );
  assertEquals(b["text/plain"], "T\ntoken      p\n─────  ─────\n编程   1.235\ncat       22");
  assertEquals(table([["a", 0.5]], { digits: 2 }).terminal(NONE), "a  0.50");
  assertThrows(() => table([["a", 1], ["b"]]), Error, "row 1 has 1 cells, expected 2");
});

Deno.test("table: a table wider than the terminal wraps its text cells, CJK as two columns", () => {
  const tokens = Array.from({ length: 12 }, (_, i) => `「编${i}」`).join(" ");
  const t = table(
    [["chars", tokens, 12], ["words", "我是一名学生，我是一名学生，我是一名学生", 3]],
    {
      header: ["tokenizer", "tokens", "n"],
    },
  );
  const lines = t.terminal({ color: "none", width: 40 }).split("\n");
  for (const line of lines) assert(displayWidth(line) <= 40, `${displayWidth(line)}: ${line}`);
  // Every token is kept whole, in order, across the continuation lines (first column blank).
  const tokenColumn = lines.slice(2).map((l) => l.slice(11).replace(/\s+\d+$/, "").trim());
  assertEquals(tokenColumn.slice(0, -2).join(" ").split(" "), tokens.split(" "));
  assert(lines.slice(3).every((l) => l.startsWith(" ".repeat(11)) || l.startsWith("words")));
  // Number columns keep their width and stay on the row's first line.
  assertMatch(lines[2], /^chars\s+「编0」.*\s12$/);
  // A table that fits is unchanged, and one that cannot fit overflows rather than vanish.
  assertEquals(table([["a", 1]]).terminal({ color: "none", width: 40 }), "a  1");
  assert(table([["x".repeat(30), "y".repeat(30)]]).terminal({ color: "none", width: 10 }) !== "");
});

Deno.test("text helpers: CJK display width, wrapping, numbers, UTF-8 base64", () => {
  assertEquals(displayWidth("编程"), 4);
  assertEquals(displayWidth("a\x1b[1mb\x1b[22m"), 2);
  assertEquals(wrap("我爱编程我爱编程", 8), ["我爱编程", "我爱编程"]);
  assertEquals(wrap("one two three", 7), ["one two", "three"]);
  assertEquals(formatNumber(0.78600001), "0.786");
  assertEquals(formatNumber(2.0612e-9), "2.061e-9");
  assertEquals(formatNumber(50257), "50257");
  assertEquals(formatNumber(-Infinity), "-∞");
  const b64 = utf8Base64("编程 ok");
  assertEquals(
    new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))),
    "编程 ok",
  );
});

Deno.test("markdown in a terminal: headings, emphasis, lists, formulas", () => {
  const src = "# 标题\n\nSome **bold** and `code`, $\\frac{a}{b}$.\n\n- one\n  more\n- two";
  assertEquals(
    renderMarkdown(src, { color: "none", width: 40 }),
    "标题\n════\n\nSome bold and `code`, a/b.\n\n  • one more\n  • two",
  );
  const colored = renderMarkdown(src, { color: "256", width: 40 });
  assertStringIncludes(colored, "\x1b[4m\x1b[1m标题\x1b[22m\x1b[24m");
  assertStringIncludes(colored, "\x1b[1mbold\x1b[22m");
});

async function runScript(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path],
    cwd: ROOT,
    env: { NO_COLOR: "1", FORCE_COLOR: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("progress: without a TTY, a line per tenth and one at finish", async () => {
  const run = await runScript("tests/fixtures/show/progress.ts");
  assertEquals(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 10);
  assertMatch(lines[0], /^train ██░{18} 10\/100 loss 2\.4 · \d+\.\d s$/);
  assertMatch(lines[9], /^train █{20} 100\/100 loss 1\.5 · \d+\.\d s$/);
  assert(!run.stdout.includes("\r"), "no carriage returns when not a TTY");
});

Deno.test("prose cursor: a chapter run as a script prints prose and outputs in source order", async () => {
  const run = await runScript("tests/fixtures/show/chapter.ts");
  assertEquals(run.code, 0, run.stderr);
  const order = [
    "Fixture chapter",
    "PROSE-1",
    "OUTPUT-1",
    "PROSE-2",
    "OUTPUT-2",
    "PROSE-3",
    "LOG-3",
    "PROSE-4",
    "PROGRESS ████████████████████ 20/20",
    "LIVE-state-2",
    "PROSE-5",
    "OUTPUT-5",
    "PROSE-6",
  ];
  const at = order.map((s) => run.stdout.indexOf(s));
  at.forEach((pos, i) => assert(pos >= 0, `missing ${order[i]} in:\n${run.stdout}`));
  for (let i = 1; i < at.length; i++) {
    assert(at[i - 1] < at[i], `${order[i - 1]} should come before ${order[i]} in:\n${run.stdout}`);
  }
  // A live output prints only its final state in a terminal.
  assert(!run.stdout.includes("LIVE-initial") && !run.stdout.includes("LIVE-state-0"), run.stdout);
  assertEquals(run.stdout.split("PROSE-1").length, 2, "each prose cell is printed once");
  assert(!run.stdout.includes("\x1b"), "NO_COLOR: no escapes");
});

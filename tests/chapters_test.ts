// Every chapter runs as a script: `deno run -A notebooks/NN_slug.ts` with QUICK=1 exits 0,
// prints something, and prints numbers that pass its entry in CHAPTER_CHECKS: properties of
// what the chapter computes (exact arithmetic, probabilities that sum to 1, losses below ln V…),
// never timings, and never numbers that a seed or the matrix-product path could move. A chapter
// without an entry fails. Also checks how `deno task chapter` picks a chapter.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { fileURLToPath } from "node:url";
import { chapterSources } from "../tools/notebooks.ts";
import { chapterDir, matchChapter } from "../tools/chapter.ts";
import { tail } from "../tools/jupyter_exec.ts";
import { displayWidth } from "../lib/show/text.ts";
import { table as showTable } from "../lib/show/bundle.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/chapters", import.meta.url));

/** Runs a chapter source as `deno task chapter` does (in its folder), with QUICK=1, no colour. */
async function runChapter(path: string) {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", path],
    cwd: chapterDir(path),
    env: { QUICK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

/** The end of a run's output, for failure messages. */
function outputTail(run: { stdout: string; stderr: string }): string {
  return `\n--- stdout (tail) ---\n${tail(run.stdout, 40)}\n--- stderr (tail) ---\n${
    tail(run.stderr, 40)
  }`;
}

/** Asserts a chapter run exited 0 with output, showing the end of its output otherwise. */
function assertChapterRan(name: string, run: Awaited<ReturnType<typeof runChapter>>) {
  const context = outputTail(run);
  assertEquals(run.code, 0, `${name} exited with code ${run.code}${context}`);
  assert(run.stdout.trim().length > 0, `${name} printed nothing to stdout${context}`);
}

// ── Reading numbers out of a chapter's printed output ───────────────────────────────────────

/** A printed number: 12, -0.5 (or −0.5), 116,534,784, 1.75e+11, 2.061 × 10⁻⁹. */
const N = String.raw`[-−]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?` +
  String.raw`(?:\s?×\s?10[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)?`;
const SUPERSCRIPTS: Record<string, string> = {
  "⁰": "0",
  "¹": "1",
  "²": "2",
  "³": "3",
  "⁴": "4",
  "⁵": "5",
  "⁶": "6",
  "⁷": "7",
  "⁸": "8",
  "⁹": "9",
  "⁻": "-",
  "⁺": "+",
};

/** Parses one printed number (the formats of N, also ∞, −∞ and a trailing %); throws otherwise. */
function parseNumber(text: string): number {
  const t = text.trim().replace(/[−–]/g, "-");
  if (/^[-+]?∞$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  const times = t.match(/^(.+?)\s?×\s?10([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/);
  if (times) {
    const exponent = Number([...times[2]].map((c) => SUPERSCRIPTS[c]).join(""));
    return parseNumber(times[1]) * 10 ** exponent;
  }
  const percent = t.endsWith("%");
  const plain = (percent ? t.slice(0, -1) : t).replace(/,(?=\d{3}(?:\D|$))/g, "");
  const value = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i.test(plain) ? Number(plain) : NaN;
  if (Number.isNaN(value)) throw new Error(`not a number: “${text}”`);
  return percent ? value / 100 : value;
}

/** A bracketed list or matrix as printed: "1, 0, 2; 2, 2, 2" → [[1, 0, 2], [2, 2, 2]]. */
function parseMatrix(text: string): number[][] {
  return text.split(";").map((row) => row.split(/,\s+/).map(parseNumber));
}

/**
 * Builds a RegExp from a source in which `(N)` captures a printed number and a space matches any
 * run of white space, line breaks included: prose is wrapped to the terminal's width.
 */
function re(source: string, flags = ""): RegExp {
  return new RegExp(source.replaceAll("(N)", `(${N})`).replaceAll(" ", String.raw`\s+`), flags);
}

/** The first match of `pattern` in `out`; throws naming what was looked for. */
function grab(out: string, pattern: RegExp, what: string): RegExpMatchArray {
  const match = out.match(pattern);
  if (!match) throw new Error(`could not find ${what} (${pattern}) in the output`);
  return match;
}

/** Every match of a global `pattern`; throws when there is none. */
function grabAll(out: string, pattern: RegExp, what: string): RegExpMatchArray[] {
  const matches = [...out.matchAll(pattern)];
  if (matches.length === 0) throw new Error(`could not find ${what} (${pattern}) in the output`);
  return matches;
}

/** The numbers captured by `pattern` (one per group), parsed. */
function numbers(out: string, pattern: RegExp, what: string): number[] {
  return grab(out, pattern, what).slice(1).map(parseNumber);
}

/** Index of the first line of `lines` matching `pattern` at or after `from`; throws otherwise. */
function findLine(lines: string[], pattern: RegExp, what: string, from = 0): number {
  const index = lines.findIndex((line, i) => i >= from && pattern.test(line));
  if (index < 0) throw new Error(`could not find ${what} (${pattern}) in the output`);
  return index;
}

/** The runs of a line separated by two or more spaces, with their display columns [start, end). */
function spans(line: string): { text: string; start: number; end: number }[] {
  const found: { text: string; start: number; end: number }[] = [];
  let column = 0;
  for (const part of line.trimEnd().split(/( {2,})/)) {
    const width = displayWidth(part);
    if (part.trim() !== "") {
      const lead = part.length - part.trimStart().length;
      found.push({ text: part.trim(), start: column + lead, end: column + width });
    }
    column += width;
  }
  return found;
}

/**
 * The body rows of every printed table whose header line matches `header`, one cell per column
 * ("" where empty). The header is followed by a rule (──  ───) that gives the columns; the table
 * ends at the first line that is not at least two pieces each inside one column: a blank line,
 * the title of the next chart, or a formula printed right after the table.
 */
function tables(out: string, header: RegExp, what: string): string[][][] {
  const lines = out.split("\n");
  const found: string[][][] = [];
  let lastRule = -1;
  for (let i = 0; i < lines.length; i++) {
    // A header too wide for the terminal wraps onto a few lines before its rule: the header is
    // matched with each column's pieces joined.
    const rule = [1, 2, 3].map((k) => i + k).find((k) => /^\s*─[─ ]*$/.test(lines[k] ?? ""));
    if (rule === undefined) continue;
    const columns = spans(lines[rule]);
    const headerCells = columns.map(() => [] as string[]);
    for (const line of lines.slice(i, rule)) {
      for (const piece of spans(line)) {
        const c = columns.findIndex((col) => piece.start < col.end && piece.end > col.start);
        if (c >= 0) headerCells[c].push(piece.text);
      }
    }
    const headerText = headerCells.map((c) => c.join(" ")).join("  ").trimEnd();
    if (lines[i].trim() === "" || rule === lastRule || !header.test(headerText)) continue;
    lastRule = rule;
    const rows: string[][] = [];
    for (let j = rule + 1; j < lines.length; j++) {
      const cells = columns.map(() => "");
      const pieces = spans(lines[j]);
      const fits = pieces.every((piece) => {
        const c = columns.findIndex((col) => piece.start >= col.start && piece.end <= col.end);
        if (c < 0 || cells[c] !== "") return false;
        cells[c] = piece.text;
        return true;
      });
      // A row too wide for the terminal wraps onto lines whose first column is blank.
      const continues = fits && pieces.length >= 1 && cells[0] === "" && rows.length > 0;
      if (continues) {
        const last = rows[rows.length - 1];
        cells.forEach((text, c) => {
          if (text !== "") last[c] = last[c] === "" ? text : `${last[c]} ${text}`;
        });
        continue;
      }
      if (!fits || pieces.length < 2) break;
      rows.push(cells);
    }
    found.push(rows);
  }
  if (found.length === 0 || found.some((rows) => rows.length === 0)) {
    throw new Error(`could not find the table of ${what} (header ${header}) in the output`);
  }
  return found;
}

/** The body rows of the first table whose header matches `header`. */
function table(out: string, header: RegExp, what: string): string[][] {
  return tables(out, header, what)[0];
}

/** The row of a table whose first cell matches `label`; throws otherwise. */
function row(rows: string[][], label: RegExp, what: string): string[] {
  const found = rows.find((cells) => label.test(cells[0]));
  if (!found) throw new Error(`no row ${label} in the table of ${what}`);
  return found;
}

/**
 * The bars of the bar chart whose title line matches `title`, grouped: a line `label │███ 0.12`
 * starts a group, and the lines after it with an empty label (a chart of several series) add
 * their values to it.
 */
function bars(out: string, title: RegExp, what: string): { label: string; values: number[] }[] {
  const lines = out.split("\n");
  const groups: { label: string; values: number[] }[] = [];
  for (let j = findLine(lines, title, what) + 1; j < lines.length; j++) {
    const match = lines[j].match(re(String.raw`^(.*?)│[^\d\n]*?(N)(?:\s*◀)?\s*$`));
    if (!match) break;
    const label = match[1].trim();
    if (label !== "" || groups.length === 0) groups.push({ label, values: [] });
    groups[groups.length - 1].values.push(parseNumber(match[2]));
  }
  if (groups.length === 0) throw new Error(`the bar chart of ${what} (${title}) has no bars`);
  return groups;
}

/**
 * The numbers of every heatmap printed with its values whose title line matches `title`: the
 * title, a line of column labels, then one row per line up to the `scale [` line.
 */
function heatmaps(out: string, title: RegExp, what: string): number[][][] {
  const lines = out.split("\n");
  const found: number[][][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!title.test(lines[i])) continue;
    const rows: number[][] = [];
    for (let j = i + 2; j < lines.length && !lines[j].startsWith("scale ["); j++) {
      rows.push((lines[j].match(/(?<![\w.])-?\d+\.\d+(?![\w.])/g) ?? []).map(Number));
    }
    found.push(rows);
  }
  if (found.length === 0 || found.some((rows) => rows.length === 0)) {
    throw new Error(`could not find the heatmap of ${what} (${title}) in the output`);
  }
  return found;
}

/** Asserts |actual − expected| ≤ tolerance. */
function assertNear(actual: number, expected: number, tolerance: number, what: string) {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} is not within ${tolerance} of ${expected}`,
  );
}

/** Asserts lo ≤ value ≤ hi. */
function assertBetween(value: number, lo: number, hi: number, what: string) {
  assert(value >= lo && value <= hi, `${what}: ${value} is not in [${lo}, ${hi}]`);
}

/** Asserts that every row of a printed matrix of probabilities sums to 1 (each rounded to ±half). */
function assertRowsSumToOne(rows: number[][], half: number, what: string) {
  rows.forEach((values, i) => {
    const sum = values.reduce((a, b) => a + b, 0);
    assertNear(sum, 1, half * values.length + 1e-9, `${what}, row ${i}: the sum of ${values}`);
  });
}

function softmax(z: number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** Asserts printed probabilities equal the exact softmax of the printed logits (4 digits). */
function assertSoftmax(logits: number[], printed: number[], what: string) {
  const exact = softmax(logits);
  assertEquals(printed.length, exact.length, `${what}: length`);
  exact.forEach((p, i) => {
    assertNear(printed[i], p, 1e-3 * p + 1e-37, `${what}: softmax([${logits}])[${i}]`);
  });
}

/** Asserts a perplexity printed with a loss is e^loss (both rounded). */
function assertPerplexity(loss: number, perplexity: number, what: string) {
  assertNear(perplexity, Math.exp(loss), 2e-3 * Math.exp(loss) + 0.5e-3, `${what}: e^${loss}`);
}

/** GPT parameters by the closed formula (learned positions, tied output layer). */
function gptParameters(
  c: { V: number; nCtx: number; d: number; dff: number; n: number; preLN: boolean },
): number {
  const attention = 4 * c.d * c.d + 4 * c.d;
  const ffn = 2 * c.d * c.dff + c.dff + c.d;
  const block = attention + ffn + 4 * c.d;
  return c.V * c.d + c.nCtx * c.d + c.n * block + (c.preLN ? 2 * c.d : 0);
}

// ── One check per chapter ──────────────────────────────────────────────────────────────────

/** Checks of a chapter's printed numbers; throws (an assertion error) when one fails. */
type ChapterCheck = (stdout: string) => void;

/**
 * One entry per chapter source notebooks/NN_slug.ts (by file name). A new chapter must add one:
 * pick printed results that are computed, and assert a property that no seed, backend or
 * machine speed can change.
 */
const CHAPTER_CHECKS: Record<string, ChapterCheck> = {
  "00_introduction.ts": (out) => {
    // The article's numbers, recomputed: GPT-3 175B counted from its config (96 layers, d_model
    // 12,288), 1,000× the article's figure; 6·N·D against Table D.1; the cost chain.
    const cell = (label: RegExp) =>
      parseNumber(
        row(table(out, /^quantity\s+value\s+note/, "the article's numbers"), label, "")[1],
      );
    const counted = cell(/^GPT-3 175B parameters, countGPTParameters/);
    assertBetween(counted, 1.74e11, 1.76e11, "GPT-3 175B counted from its config");
    const paper = cell(/^GPT-3 175B parameters, the paper/);
    const article = cell(/^the article's figure/);
    assertNear(paper, 175e9, 1e6, "GPT-3's parameters in the paper");
    assertNear(cell(/^ratio paper \/ article/), paper / article, 0.5, "paper / article");
    assertNear(cell(/^ratio paper \/ article/), 1000, 0.5, "the article's factor");
    assertNear(cell(/^GPT-3 \/ BERT-large/), 175e9 / 340e6, 0.05, "GPT-3 / BERT-large");
    const flop = cell(/^training compute 6·N·D/);
    assertNear(flop, 6 * counted * 300e9, 1e-3 * flop, "6·N·D with D = 300B tokens");
    assertNear(flop, cell(/^training compute, the paper/), 0.01 * flop, "6·N·D vs Table D.1");
    const cost = cell(/^…at \$1.50 per V100-hour/) * 1e6;
    assertNear(cost, (flop / 28e12 / 3600) * 1.5, 0.01e6, "GPU-hours × $1.50");
    assertNear(cell(/^the article's \$1M\/s spends/), cost / 1e6, 0.06, "seconds at $1M/s");
    const log = bars(out, /^Parameters, log₁₀ scale/, "log₁₀ parameters");
    const gpt3 = log.find((b) => b.label.startsWith("GPT-3"));
    assert(gpt3, `no GPT-3 bar among ${log.map((b) => b.label)}`);
    assertNear(gpt3.values[0], Math.log10(counted), 0.005, "log₁₀ of GPT-3's parameters");
    // The bigram's smoothed probability, recomputed from the counts it prints.
    const V = numbers(out, re(String.raw`(\d+) distinct tokens`), "the vocabulary size")[0];
    const [c2, alpha, c1, alpha2, V2, p] = numbers(
      out,
      re(String.raw`P\(\S ∣ \S\) = [^=\n]+= \((N) \+ (N)\)/\((N) \+ (N) · (N)\) = (N)`),
      "the bigram formula",
    );
    assertEquals(alpha2, alpha, "the same α in the formula");
    assertEquals(V2, V, "the formula's V is the vocabulary");
    assertNear(p, (c2 + alpha) / (c1 + alpha * V), 1e-4, "(c(ab) + α)/(c(a) + αV)");
    // Held-out losses of the three models: real losses, below ln V, with perplexity e^loss.
    const losses = table(out, /^model\s+held-out loss/, "held-out losses");
    for (const label of [/^bigram/, /^neural/, /^tiny GPT/]) {
      const [loss, perplexity] = row(losses, label, "held-out losses").slice(1).map(parseNumber);
      assertBetween(loss, 0, Math.log(V), `${label} held-out loss, below ln V`);
      assertPerplexity(loss, perplexity, `${label} perplexity`);
    }
    // The held-out curve's last point is the table's neural loss (the same measurement).
    const [last] = numbers(out, re(String.raw`── held-out text\s+last (N)`), "the held-out curve");
    const loss = (label: RegExp) => parseNumber(row(losses, label, "held-out losses")[1]);
    assertNear(last, loss(/^neural/), 6e-4, "held-out curve's last point vs the table");
    // GPT vs each model: the printed difference is the table's (rounded), and the verdict
    // follows the 2·SE rule.
    for (const [name, label] of [["bigram", /^bigram/], ["neural", /^neural/]] as const) {
      const match = grab(
        out,
        re(
          String
            .raw`GPT vs ${name}: [^—]*? is (N) nats/token \(2·SE = (N), \d+ tokens\) — ([^.]+)\.`,
        ),
        `the GPT vs ${name} verdict`,
      );
      const [difference, twoSE] = [parseNumber(match[1]), parseNumber(match[2])];
      assertNear(difference, loss(/^tiny GPT/) - loss(label), 1.5e-3, `GPT − ${name}`);
      assert(twoSE > 0, `2·SE of GPT vs ${name} is positive`);
      const expected = difference < -twoSE
        ? /clearly better/
        : difference > twoSE
        ? /clearly worse/
        : /no clear difference/;
      assert(expected.test(match[3]), `GPT vs ${name}: “${match[3]}” for ${difference} ± ${twoSE}`);
    }
    // P(校 ∣ 他去学) and P(习 ∣ 在学校学): probabilities, and the sentence's wording follows them.
    const sure = grabAll(
      out,
      re(String.raw`the (neural|GPT) model gives P\((\S) ∣ (\S+)\) = (N): ([^;.]+)`, "g"),
      "how sure each model is",
    );
    assertEquals(sure.length, 4, "two models × two contexts");
    for (const [, model, next, context, value, words] of sure) {
      const pNext = parseNumber(value);
      assertBetween(pNext, 0, 1, `P(${next} ∣ ${context}), ${model}`);
      const expected = pNext >= 0.9
        ? /nearly sure/
        : pNext >= 0.5
        ? /most of its probability/
        : /not learned/;
      assert(expected.test(words), `${model}, P(${next} ∣ ${context}) = ${pNext}: “${words}”`);
    }
    const [followed, all] = numbers(
      out,
      re(String.raw`“去学” is followed by “校” (N) times out of (N)`),
      "the count of 去学校",
    );
    assert(followed <= all && all > 0, `去学 → 校: ${followed} of ${all}`);
  },

  "01_text_representation.ts": (out) => {
    const sentence = grab(out, /Tokenising “([^”]+)”/, "the tokenised sentence")[1];
    assertEquals(sentence, "AI+编程 扬帆起航");
    const rows = table(out, /^tokenizer\s+tokens\s+ids\s+count/, "tokenisations");
    for (const cells of rows) {
      const [name, tokens, ids, count] = cells;
      const shown = tokens.match(/「[^」]*」/g)?.length ?? 0;
      assertEquals(Number(count), shown, `${name}: count vs tokens shown`);
      assertEquals(ids.trim().split(/\s+/).length, shown, `${name}: ids vs tokens shown`);
    }
    const count = (label: RegExp) => Number(row(rows, label, "tokenisations")[3]);
    assertEquals(count(/^characters/), [...sentence].length, "one token per character");
    assertEquals(count(/^GPT-2/), 18, "GPT-2's BPE (a fixed vocabulary) cuts it into 18 tokens");
    // Decoding gives the sentence back, except for the word tokenizer (it drops the space).
    const decoded = table(out, /^tokenizer\s+decode\(encode/, "decoded sentences");
    for (const label of [/^characters/, /^our BPE/, /^GPT-2/]) {
      assertEquals(row(decoded, label, "decoded sentences")[1], sentence, `${label} round trip`);
    }
    // …and the sentence below the table names exactly the tokenizers that lose it.
    const lossy = decoded.filter(([, text]) => text !== sentence).map(([name]) => name);
    assertEquals(lossy, ["words"], "only the word tokenizer loses the space");
    grab(out, re(String.raw`${lossy.join(", ")} does not give it back`), "the round-trip sentence");
    // Dictionary words (Intl.Segmenter through segmentWords) beside the other tokenizers' counts.
    const dictionary = table(out, /^sentence\s+dictionary words\s+chars/, "dictionary words");
    const segmenter = new Intl.Segmenter("zh", { granularity: "word" });
    for (const [text, pieces, chars, , dict] of dictionary) {
      const expected = [...segmenter.segment(text)].map((s) => s.segment).filter((s) => s.trim());
      assertEquals(pieces, expected.join(" / "), `the dictionary words of ${text}`);
      assertEquals(Number(chars), [...text].length, `characters of ${text}`);
      assertEquals(Number(dict), pieces.split(" / ").length, `dictionary words of ${text}`);
    }
    assertEquals(row(dictionary, /^我是一名学生$/, "dictionary words")[1], "我是 / 一名 / 学生");
    const [multi] = numbers(out, re(String.raw`The dictionary finds (\d+) words`), "long words");
    const allPieces = dictionary.flatMap(([, pieces]) => pieces.split(" / "));
    assertEquals(multi, allPieces.filter((w) => [...w].length > 1).length, "multi-character words");
    // The embedding gradient reaches exactly the rows of the sentence's distinct tokens.
    const [touched, total] = numbers(
      out,
      re(String.raw`non-zero in (\d+) of its (\d+) rows`),
      "gradients",
    );
    assertEquals(touched, new Set(sentence).size, "rows with a gradient = distinct tokens");
    assert(touched < total, "only some rows get a gradient");
    // Sinusoidal positions: one entry recomputed, and PE(pos)·PE(pos+k) = Σᵢ cos(k/10000^(2i/d)).
    const [pos, twoI, d, angle, value] = numbers(
      out,
      re(String.raw`PE_\((N),(N)\) = sin\(\d+/10000\^\(\d+/(N)\)\) = sin\((N)\) = (N)`),
      "the worked PE entry",
    );
    assertNear(angle, pos / 10000 ** (twoI / d), 5e-4, "the PE angle");
    assertNear(value, Math.sin(pos / 10000 ** (twoI / d)), 1e-4, "the PE entry");
    const dots = grabAll(out, re(String.raw`PE\((N)\) · PE\((N)\) = (N)`, "g"), "PE dot products");
    for (const [, a, b, dot] of dots) {
      const k = parseNumber(b) - parseNumber(a);
      let expected = 0;
      for (let i = 0; i < d / 2; i++) expected += Math.cos(k / 10000 ** (2 * i / d));
      assertNear(parseNumber(dot), expected, 0.01, `PE(${a})·PE(${b}) depends only on k = ${k}`);
    }
    // h₀ = UWₑ + Wₚ, one entry added up; the scale of the parts (sinusoids: RMS exactly √½).
    const [, , , , tokenPart, positionPart, sum] = numbers(
      out,
      re(String.raw`h₀\[(N), (N)\] = \(UWₑ\)\[(N), (N)\] \+ Wₚ\[\d+, \d+\] = (N) \+ (N) = (N)`),
      "the worked entry of h₀",
    );
    assertNear(sum, tokenPart + positionPart, 2e-4, "h₀ = UWₑ + Wₚ entry by entry");
    const scales = table(out, /^part of the input\s+RMS/, "the scale of the parts");
    const rmsOf = (label: RegExp) => parseNumber(row(scales, label, "scales")[1]);
    assertNear(rmsOf(/^sinusoidal/), Math.SQRT1_2, 1e-4, "RMS of the sinusoids");
    assertBetween(rmsOf(/^token vectors/), 0.01, 0.03, "RMS of UWₑ, σ = 0.02");
    const [times] = numbers(out, re(String.raw`The sinusoids are (N) times`), "the scale sentence");
    assertNear(times, rmsOf(/^sinusoidal/) / rmsOf(/^token vectors/), 1, "the ratio of scales");
    // Attention without positions is blind to order; with them it is not.
    const order = table(out, /^attention input\s+max \|z/, "the permutation test");
    assertBetween(parseNumber(row(order, /only$/, "")[1]), 0, 1e-5, "embeddings only");
    assert(parseNumber(row(order, /positions$/, "")[1]) > 1e-3, "embeddings + positions differ");
  },

  "02_encoder.ts": (out) => {
    // Every head's attention weights (rows) sum to 1.
    for (const [i, rows] of heatmaps(out, /^head \d: attention weights/, "heads").entries()) {
      assertRowsSumToOne(rows, 0.005, `head ${i + 1}`);
    }
    // LayerNorm: mean 0 and standard deviation 1 after, for every token.
    const norm = table(out, /^token\s+mean before\s+std before\s+mean after/, "LayerNorm");
    for (const cells of norm) {
      const [meanAfter, stdAfter] = cells.slice(3).map(parseNumber);
      assertNear(meanAfter, 0, 1e-3, `${cells[0]}: mean after LayerNorm`);
      assertNear(stdAfter, 1, 1e-3, `${cells[0]}: std after LayerNorm`);
    }
    // Parameter counts: 4d² + 4d for attention, 2·d·d_ff + d_ff + d for the FFN.
    const [d, dff] = numbers(out, /W₁ ∈ ℝ\^\((\d+)×(\d+)\)/, "the FFN's shape");
    const counts = table(out, /attention parameters\s+FFN parameters/, "parameter counts");
    const sizes: [RegExp, number, number][] = [
      [/^this block/, d, dff],
      [/base model \(d = 512, d_ff = 2048\)/, 512, 2048],
    ];
    for (const [label, dm, ff] of sizes) {
      const [attention, ffn, share] = row(counts, label, "parameter counts").slice(1)
        .map(parseNumber);
      const a = 4 * dm * dm + 4 * dm, f = 2 * dm * ff + ff + dm;
      assertNear(attention, a, 1e-3 * a, `${label} attention parameters`);
      assertNear(ffn, f, 1e-3 * f, `${label} FFN parameters`);
      assertNear(share, f / (a + f), 0.0051, `${label} FFN share`);
    }
    // Post-LN renormalises after every block: the stream ends at RMS 1.
    const [rms] = numbers(out, re(String.raw`Post-LN keeps the stream at RMS (N)`), "post-LN RMS");
    assertNear(rms, 1, 0.01, "post-LN residual stream RMS");
    // The gradient ratios: block N / block 1 as printed, and the sentence reads each one right.
    const gradients = table(out, /^arrangement\s+‖∇‖ at block 1/, "the gradient ratios");
    const end = (ratio: number) => ratio > 1.5 ? "output" : ratio < 1 / 1.5 ? "input" : "both";
    const sentences = [
      ["post-LN", "Under post-LN the last block receives"],
      ["pre-LN", "Under pre-LN the ratio is"],
    ];
    for (const [name, label] of sentences) {
      const [first, last, ratio] = row(gradients, new RegExp(`^${name}$`), "gradients").slice(1)
        .map(parseNumber);
      assertNear(ratio, last / first, 0.01 * ratio + 0.01, `${name}: ratio = block N / block 1`);
      const said = grab(
        out,
        re(String.raw`${label} (N)×[^:]*: (?:the blocks near the (output|input)|(both) ends)`),
        `${name}'s ratio sentence`,
      );
      assertNear(parseNumber(said[1]), ratio, 0.006, `${name}: the sentence's ratio`);
      assertEquals(said[2] ?? said[3], end(ratio), `${name}: which end the sentence names`);
    }
    // Training without warm-up: the verdict follows the printed final losses (2·SE rule).
    const final = table(out, /^model\s+mean loss of the last \d+ steps ± SE/, "final losses");
    const [post, pre] = ["post-LN", "pre-LN"].map((name) =>
      row(final, new RegExp(`^${name}$`), "final losses")[1].split("±").map(parseNumber)
    );
    if (!/-LN diverged/i.test(out)) {
      const gap = post[0] - pre[0], noise = 2 * Math.hypot(post[1], pre[1]);
      const expected = gap > noise + 0.01
        ? "Pre-LN ends lower"
        : gap < -noise - 0.01
        ? "Post-LN ends lower"
        : Math.abs(Math.abs(gap) - noise) > 0.01
        ? "No clear difference"
        : undefined;
      if (expected) grab(out, re(expected), `the verdict “${expected}”`);
    }
  },

  "03_decoder.ts": (out) => {
    // softmax([2.5, 1.0, −0.5]) = [0.7856, 0.1753, 0.0391], e^z and the probabilities checked.
    const rows = table(out, /^word\s+logit/, "the apple/banana/cherry softmax");
    const logits = rows.map((cells) => parseNumber(cells[1]));
    assertEquals(logits, [2.5, 1, -0.5], "the article's logits");
    rows.forEach((cells) => {
      assertNear(parseNumber(cells[2]), Math.exp(parseNumber(cells[1])), 1e-4, `e^z, ${cells[0]}`);
    });
    const probabilities = rows.map((cells) => parseNumber(cells[3]));
    assertSoftmax(logits, probabilities, "apple/banana/cherry");
    [0.7856, 0.1753, 0.0391].forEach((p, i) => assertNear(probabilities[i], p, 1e-4, `p[${i}]`));
    // The logits that would give the article's probabilities: l₀ + ln(pᵢ/p₀).
    const article = rows.map((cells) => parseNumber(cells[4]));
    const fitted = parseMatrix(
      grab(out, re(String.raw`exactly the article's numbers[^[]*\[([^\]]+)\]`), "the fit")[1],
    )[0];
    fitted.forEach((l, i) => {
      assertNear(l, logits[0] + Math.log(article[i] / article[0]), 6e-3, `fitted logit ${i}`);
    });
    const gaps = numbers(out, re(String.raw`gaps\s+of\s+(N)\s+and\s+(N)`), "the fitted gaps");
    gaps.forEach((g, i) => {
      assertNear(g, Math.log(article[i] / article[i + 1]), 6e-3, `the fitted gap ${i}`);
    });
    // Masked self-attention: nothing above the diagonal, rows sum to 1; cross-attention too.
    const [masked] = heatmaps(out, /^masked self-attention/, "masked self-attention");
    masked.forEach((values, i) => {
      assertEquals(values.length, masked.length, `masked row ${i} has one weight per key`);
      values.slice(i + 1).forEach((w) => assertEquals(w, 0, `masked row ${i}: a future weight`));
    });
    assertRowsSumToOne(masked, 0.005, "masked self-attention");
    assertRowsSumToOne(heatmaps(out, /^cross-attention/, "cross-attention")[0], 0.005, "cross");
    assertRowsSumToOne(heatmaps(out, /^softmax\(h W_out\)/, "the output")[0], 0.005, "output");
  },

  "04_attention.ts": (out) => {
    // The worked example: QKᵀ from the printed Q and K, the softmax rows, Z = AV.
    const matrix = (pattern: RegExp, what: string) => parseMatrix(grab(out, pattern, what)[1]);
    const Q = matrix(/\bQ = XW\S* = \[([^\]]+)\]/, "Q");
    const K = matrix(/\bK = XW\S* = \[([^\]]+)\]/, "K");
    const V = matrix(/\bV = XW\S* = \[([^\]]+)\]/, "V");
    const S = matrix(/QKᵀ\s*= \[([^\]]+)\]/, "QKᵀ");
    const A = matrix(/softmax\(QKᵀ\/√d\S*\)\s*=\s*\[([^\]]+)\]/, "the attention weights");
    const Z = matrix(/Z = softmax\(QKᵀ\/√d\S*\)V\s*=\s*\[([^\]]+)\]/, "Z");
    const dk = Q[0].length;
    Q.forEach((q, i) =>
      K.forEach((k, j) => {
        assertEquals(S[i][j], q.reduce((sum, qi, t) => sum + qi * k[t], 0), `QKᵀ[${i}][${j}]`);
      })
    );
    S.forEach((s, i) => assertSoftmax(s.map((v) => v / Math.sqrt(dk)), A[i], `row ${i} of A`));
    A.forEach((a, i) =>
      V[0].forEach((_, j) => {
        const z = a.reduce((sum, w, t) => sum + w * V[t][j], 0);
        assertNear(Z[i][j], z, 1e-3 * Math.abs(z) + 1e-3, `Z[${i}][${j}]`);
      })
    );
    // The erratum: softmax([100, 80, 20, 12]) and softmax of the row divided by √64.
    const [raw, rawOut] = grab(
      out,
      /softmax\(\[([^\]]+)\]\) = \[([^\]]+)\]/,
      "softmax([100, 80, 20, 12])",
    ).slice(1).map((t) => parseMatrix(t)[0]);
    assertEquals(raw, [100, 80, 20, 12]);
    assertSoftmax(raw, rawOut, "softmax([100, 80, 20, 12])");
    const scaled = grab(
      out,
      /softmax\(\[([^\]]+)\]\/√(\d+)\) = softmax\(\[([^\]]+)\]\) = \[([^\]]+)\]/,
      "the scaled softmax",
    );
    const divisor = Math.sqrt(Number(scaled[2]));
    const scaledRow = parseMatrix(scaled[3])[0];
    parseMatrix(scaled[1])[0].forEach((v, i) => assertNear(scaledRow[i], v / divisor, 1e-9, "/√d"));
    assertSoftmax(scaledRow, parseMatrix(scaled[4])[0], "the scaled softmax");
    // The trained model: accuracies are shares; the attention from “it” sums to 1.
    const heads = table(out, /^head\s+attention accuracy \(train\)/, "attention accuracies");
    for (const cells of heads) {
      cells.slice(1).forEach((v) => assertBetween(parseNumber(v), 0, 1, `${cells[0]}: ${v}`));
    }
    const [copyHead] = numbers(out, re(String.raw`\}/\d+ = (N) on held-out`), "copy head");
    assertBetween(copyHead, 0, 1, "the copy head's held-out attention accuracy");
    for (const title of [/^attention from “it” — too tired/, /^attention from “it” — too narrow/]) {
      const weights = bars(out, title, "attention from “it”").map((b) => b.values[0]);
      assertNear(weights.reduce((a, b) => a + b, 0), 1, 2e-3, `${title}: weights sum`);
    }
    // Dot product against cosine: q·k = |q| |k| cos θ row by row; the long key wins the dot
    // product, another key the cosine, and the sentence names the two winners.
    const [qx, qy] = parseMatrix(grab(out, /^query q = \[([^\]]+)\]/m, "the query")[1])[0];
    const keys = table(out, /^key\s+k\s+\|k\|\s+q·k\s+cos θ/, "dot product against cosine")
      .map(([name, , len, dot, cos, , w]) => ({
        name: name.split(" ")[0],
        len: parseNumber(len),
        dot: parseNumber(dot),
        cos: parseNumber(cos),
        w: parseNumber(w),
      }));
    for (const k of keys) {
      assertNear(k.dot, Math.hypot(qx, qy) * k.len * k.cos, 5e-3, `${k.name}: q·k = |q||k|cos θ`);
    }
    assertNear(keys.reduce((sum, k) => sum + k.w, 0), 1, 3e-3, "the key weights sum to 1");
    const winner = (value: (k: (typeof keys)[number]) => number) =>
      keys.reduce((best, k) => (value(k) > value(best) ? k : best));
    const [byDot, byCos, longest] = [
      winner((k) => k.dot),
      winner((k) => k.cos),
      winner((k) => k.len),
    ];
    assertEquals(byDot.name, longest.name, "the longest key wins the dot product");
    assert(byCos.name !== byDot.name, `the cosine picks another key than ${byDot.name}`);
    const named = grab(
      out,
      re(
        String
          .raw`The largest dot product is (\S+)'s \((N)\), though it points (\d+)° away from the query; the largest cosine is (\S+)'s`,
      ),
      "the dot-versus-cosine sentence",
    );
    assertEquals([named[1], named[4]], [byDot.name, byCos.name], "the sentence names the winners");
    assertNear(parseNumber(named[2]), byDot.dot, 5e-3, "the winning dot product");
    // Self- against cross-attention: same function, a square and a non-square matrix.
    const [sr, sc, cr, cc] = numbers(
      out,
      re(
        String
          .raw`Self-attention's weights are (\d+) × (\d+): .*? Cross-attention's are (\d+) × (\d+):`,
        "s",
      ),
      "the self/cross sentence",
    );
    assertEquals(sr, sc, "self-attention's weights are square");
    assert(cr !== cc, `cross-attention's weights are ${cr} × ${cc}`);
    const [cross] = heatmaps(out, /^cross-attention, head 1/, "cross-attention");
    assertEquals([cross.length, cross[0].length], [cr, cc], "the cross-attention heatmap's shape");
    assertRowsSumToOne(cross, 0.005, "cross-attention");
    // Held out: the accuracies are shares, and the sentence's percentages and branch are theirs.
    const [task, n, copyAttention] = numbers(
      out,
      re(String.raw`held-out: task accuracy = (N), copy head: #\{[^}]*\}/(\d+) = (N)`),
      "the held-out accuracies",
    );
    assertBetween(task, 0, 1, "held-out task accuracy");
    assertBetween(copyAttention, 0, 1, "the copy head's held-out attention accuracy");
    const said = grab(
      out,
      re(
        String
          .raw`On the (\d+) held-out sentences the model names the referent in (\d+)% of them, and the copy head puts more weight on the referent than on the other noun in (\d+)%\. (On sentences it never saw|The attention from “it” found the noun more often|That is near chance)`,
      ),
      "the held-out sentence",
    );
    assertEquals(Number(said[1]), n, "held-out sentences");
    assertNear(Number(said[2]), 100 * task, 0.5 + 1e-3, "the task accuracy in %");
    assertNear(Number(said[3]), 100 * copyAttention, 0.5 + 1e-3, "the attention accuracy in %");
    const branch = task >= 0.9
      ? "On sentences it never saw"
      : task >= 0.6
      ? "The attention from “it” found the noun more often"
      : "That is near chance";
    assertEquals(said[4].replace(/\s+/g, " "), branch, `the branch for task accuracy ${task}`);
    for (
      const [text, , , aRef, aOther] of table(out, /^held-out sentence\s+referent/, "held out")
    ) {
      assertBetween(parseNumber(aRef) + parseNumber(aOther), 0, 1.01, `${text}: two weights`);
    }
  },

  "05_decoder_generation.ts": (out) => {
    // The article's multiplicative mask vs the additive one, on row 0 of the scores.
    const rowOf = (pattern: RegExp, what: string) =>
      grab(out, pattern, what).slice(1).map((t) => parseMatrix(t)[0]);
    const [times, timesOut] = rowOf(
      /softmax\(S ⊙ M\)₀ = softmax\(\[([^\]]+)\]\) = \[([^\]]+)\]/,
      "softmax(S ⊙ M)₀",
    );
    assertSoftmax(times, timesOut, "softmax(S ⊙ M)₀");
    const [plus, plusOut] = rowOf(
      /softmax\(S \+ M\)₀ = softmax\(\[([^\]]+)\]\) = \[([^\]]+)\]/,
      "softmax(S + M)₀",
    );
    assert(plus.slice(1).every((v) => v === -Infinity), `row 0 hides the future: ${plus}`);
    assertEquals(plusOut, [1, 0, 0, 0, 0], "softmax(S + M)₀");
    const future = table(out, /^query position\s+weight on the future/, "weights on the future");
    assertNear(parseNumber(future[0][1]), 1 - timesOut[0], 2e-4, "S ⊙ M: row 0's future weight");
    future.forEach((cells) => assertEquals(parseNumber(cells[2]), 0, `S + M: ${cells[0]}`));
    const [leak, noLeak] = numbers(
      out,
      re(String.raw`= (N) \(S ⊙ M\),\s*(N) \(S \+ M\)`),
      "the output change at position 0",
    );
    assert(leak > 1e-3, `S ⊙ M lets the future in: ${leak}`);
    assertBetween(noLeak, 0, 1e-6, "S + M keeps position 0 unchanged");
    // Held-out results: perplexity e^L, exact match k/n, and n − k sentences listed as wrong.
    const [testLoss, testPerplexity] = numbers(
      out,
      re(String.raw`(N) \(held out\),\s*e\^\(\S+\) = (N)`),
      "the held-out loss",
    );
    assertPerplexity(testLoss, testPerplexity, "held-out perplexity");
    const [n] = numbers(out, re(String.raw`(\d+) held-out test pairs`), "the test split");
    const [correct, total, share] = numbers(
      out,
      re(String.raw`exact match = [^\n]*?= (\d+)/(\d+) = (N)`),
      "exact match",
    );
    assertEquals(total, n, "exact match is over the test split");
    assertBetween(correct, 0, n, "correct translations");
    assertNear(share, correct / total, 1e-4, "exact match = k/n");
    const [wrong, of] = numbers(
      out,
      re(String.raw`(\d+) of (\d+) held-out sentences wrong`),
      "wrong",
    );
    assertEquals([wrong, of], [n - correct, n], "sentences listed as wrong");
    // Greedy decoding chooses the most probable candidate at every step, in both decodings
    // (the training pair and the held-out sentence).
    const decodings = tables(out, /^step\s+decoder input so far\s+top 3/, "greedy steps");
    assertEquals(decodings.length, 2, "two step-by-step decodings");
    for (const cells of decodings.flat()) {
      const candidates = cells[2].split(" · ").map((c) => c.match(re(String.raw`^(.*) (N)$`))!);
      const p = candidates.map((c) => parseNumber(c[2]));
      p.slice(1).forEach((q, i) => assert(q <= p[i], `step ${cells[0]}: candidates sorted`));
      assertBetween(p.reduce((a, b) => a + b, 0), 0, 1.002, `step ${cells[0]}: top-3 mass`);
      assertEquals(cells[3], candidates[0][1], `step ${cells[0]}: greedy takes the arg max`);
    }
    grab(out, re("is one of the (\\d+) training pairs"), "我是一名学生 named a training pair");
    grab(out, re("neither the Chinese nor the English occurs among"), "the held-out sentence");
    // Cross-attention: each sentence names the character with the largest mean weight of its
    // step, as the table prints it.
    const attended = table(out, /^chosen word\s+most-attended character/, "cross-attention");
    for (const target of ["a", "student"]) {
      const printed = attended.find((cells) => cells[0] === target);
      if (!printed) continue; // the model did not write it; the sentence says so
      const [, c, w] = grab(
        out,
        re(String.raw`“${target}” reads mostly (\S+) \((N)\)`),
        `the sentence on “${target}”`,
      );
      assertEquals(c, printed[1], `“${target}”: the character the sentence names`);
      assertNear(parseNumber(w), parseNumber(printed[2]), 0.006, `“${target}”: its weight`);
    }
  },

  "06_pretraining.ts": (out) => {
    // GPT-1 and GPT-2 small, from their configurations.
    const gpt1 = gptParameters({ V: 40478, nCtx: 512, d: 768, dff: 3072, n: 12, preLN: false });
    const gpt2 = gptParameters({ V: 50257, nCtx: 1024, d: 768, dff: 3072, n: 12, preLN: true });
    assertEquals([gpt1, gpt2], [116_534_784, 124_439_808], "the closed formula");
    assertEquals(numbers(out, /GPT-1: ([\d,]+) ≈/, "GPT-1's count"), [gpt1], "GPT-1");
    assertEquals(numbers(out, /countGPTParameters: ([\d,]+)\)/, "countGPTParameters"), [gpt1]);
    assertEquals(numbers(out, /GPT-2 small: ([\d,]+) ≈/, "GPT-2's count"), [gpt2], "GPT-2");
    const sizes = table(out, /^parameters\s+formula/, "GPT-1 and GPT-2's parameters");
    assertEquals(row(sizes, /^total$/, "").slice(2).map(parseNumber), [gpt1, gpt2], "totals");
    // Erratum: W_q, W_k, W_v are ≈ 18% of GPT-1 (12 blocks × 3 × 768²); the parts add up.
    const parts = table(out, /^GPT-1's parameters\s+count\s+share/, "GPT-1's parts");
    const qkv = row(parts, /^W_q, W_k, W_v$/, "GPT-1's parts").slice(1).map(parseNumber);
    assertEquals(qkv[0], 12 * 3 * 768 * 768, "W_q, W_k, W_v of GPT-1");
    assertBetween(qkv[1], 0.17, 0.19, "the share of W_q, W_k, W_v");
    assertNear(qkv[1], qkv[0] / gpt1, 5e-4, "share = count / total");
    const body = parts.filter((cells) => cells[0] !== "total");
    const sum = body.reduce((n, cells) => n + parseNumber(cells[1]), 0);
    assertEquals([sum, parseNumber(row(parts, /^total$/, "")[1])], [gpt1, gpt1], "parts sum");
    const [said, of] = numbers(
      out,
      re(String.raw`W_q, W_k and W_v are \**(N)%\** of GPT-1's (N) parameters`),
      "the W_q, W_k, W_v sentence",
    );
    assertNear(said / 100, qkv[1], 1e-9, "the sentence's share");
    assertEquals(of, gpt1, "the sentence's total");
    // The toy model's table adds up: blocks of 4d² + 4d, 2·d·d_ff + d_ff + d and 4d.
    const toy = table(out, /^Tang-poem GPT$/, "the Tang-poem GPT");
    const cell = (label: RegExp) => row(toy, label, "the Tang-poem GPT")[1];
    const count = (label: RegExp) => parseNumber(cell(label));
    const [n, d, , dff] = cell(/^blocks n, d_model/).split(/,\s*/).map(parseNumber);
    const [nCtx, V] = cell(/^context n_ctx, vocabulary V/).split(/,\s*/).map(parseNumber);
    assertEquals(count(/^token embeddings/), V * d, "Wₑ = V·d");
    assertEquals(count(/^positions/), nCtx * d, "Wₚ = n_ctx·d");
    assertEquals(count(/^attention, per block/), 4 * d * d + 4 * d, "attention = 4d² + 4d");
    assertEquals(count(/^FFN, per block/), 2 * d * dff + dff + d, "FFN = 2·d·d_ff + d_ff + d");
    assertEquals(count(/^2 LayerNorms/), 4 * d, "2 LayerNorms = 4d");
    const block = count(/^attention, per block/) + count(/^FFN, per block/) +
      count(/^2 LayerNorms/);
    assertEquals(count(/^one block/), block, "one block");
    assertEquals(count(/^all blocks/), n * block, "n blocks");
    assertEquals(
      count(/^total/),
      count(/^token embeddings/) + count(/^positions/) + n * block + count(/^final LayerNorm/),
      "the total is the sum of the parts",
    );
    // L₁ term by term: log P = ln P, and L₁ is their sum.
    const [lnV] = numbers(out, re(String.raw`\(ln V = (N)\)`), "ln V");
    assertNear(lnV, Math.log(V), 1e-3, "ln V");
    const terms = tables(out, /^\s*i\s+context\s/, "the terms of L₁");
    const sums = grabAll(
      out,
      re(String.raw`L₁ = Σ[^=\n]*= (N),\s*-L₁/(\d+) = (N)`, "g"),
      "the sums L₁",
    );
    assertEquals(sums.length, terms.length, "one sum per table of terms");
    terms.forEach((rows, t) => {
      rows.forEach((cells) => {
        const [p, logP] = cells.slice(-2).map(parseNumber);
        assertNear(logP, Math.log(p), 1.5e-3, `term ${cells[0]}: log P = ln P`);
      });
      const [L1, count, mean] = sums[t].slice(1).map(parseNumber);
      const total = rows.reduce((sum, cells) => sum + parseNumber(cells[cells.length - 1]), 0);
      assertEquals(count, rows.length, "L₁ sums every term");
      assertNear(L1, total, 5e-4 * rows.length + 5e-3, "L₁ = Σ log P");
      assertNear(mean, -L1 / count, 1.5e-3, "-L₁/N");
    });
    // Validation: uniform = ln V; pre-training takes the model below it and below its start.
    const validation = table(out, /^model\s+validation cross-entropy\s+perplexity/, "validation");
    const [uniform, uniformPerplexity] = row(validation, /^uniform/, "").slice(1).map(parseNumber);
    assertNear(uniform, Math.log(V), 1e-3, "uniform = ln V");
    assertNear(uniformPerplexity, V, 0.5, "uniform perplexity = V");
    for (const [label, loss, perplexity] of validation) {
      assertPerplexity(parseNumber(loss), parseNumber(perplexity), label);
    }
    const before = parseNumber(row(validation, /before training/, "")[1]);
    const after = parseNumber(row(validation, /^the GPT after/, "")[1]);
    assert(after < uniform, `pre-trained loss ${after} is below ln V = ${uniform}`);
    assert(after < before, `pre-trained loss ${after} is below the untrained ${before}`);
    // Generated lines: a share k/n; the checkpoint reloads exactly.
    const [good, lines, share] = numbers(
      out,
      re(String.raw`lines of five characters[^:\n]*:\s*(\d+)/(\d+) = (N) \(trained\)`),
      "the share of well-formed lines",
    );
    assertBetween(good, 0, lines, "well-formed lines");
    assertNear(share, good / lines, 1e-4, "well-formed share = k/n");
    const checkpoint = table(out, /^checkpoint$/, "the checkpoint");
    assertBetween(parseNumber(row(checkpoint, /^max \|logits/, "")[1]), 0, 1e-6, "reload");
    assertEquals(row(checkpoint, /^vocabulary restored/, "")[1], "yes", "vocabulary restored");
    assertEquals(row(checkpoint, /same poem/, "")[1], "yes", "the reloaded model's poem");
  },

  "07_sampling.ts": (out) => {
    const [V] = numbers(out, /^vocabulary V\s+(\d+)\s*$/m, "the vocabulary size");
    const [lnV, unigram, loss, perplexity] = numbers(
      out,
      re(String.raw`ln V = (N),\s*H_\(unigram\) = (N),\s*L_\(validation\) = (N) \(eᴸ = (N)\)`),
      "the losses",
    );
    assertNear(lnV, Math.log(V), 1e-3, "ln V");
    assertBetween(unigram, 0, lnV + 1e-3, "the unigram entropy is at most ln V");
    assertBetween(loss, 0, lnV, "the validation loss is below ln V");
    assertNear(perplexity, Math.exp(loss), 2e-3 * Math.exp(loss) + 0.5, "e^L");
    // The top of one distribution: sorted, and their sum is the printed mass.
    const title = String.raw`^P\(next character ∣ “[^”]*”\): the (\d+) most probable`;
    const [shown, percent] = numbers(out, re(`${title} \\((N)% of the mass\\)`, "m"), "the top");
    const p = bars(out, new RegExp(title), "the top of the distribution").map((b) => b.values[0]);
    assertEquals(p.length, shown, "bars shown");
    p.slice(1).forEach((q, i) => assert(q <= p[i], `bars sorted: ${p}`));
    assertNear(p.reduce((a, b) => a + b, 0), percent / 100, 2e-3, "their mass");
    // Temperature: as T grows, p(arg max) and the top mass fall, the entropy rises (≤ ln V).
    const temperatures = table(out, /^\s*T\s+p\(.+\)\s+mass of the top/, "temperatures")
      .map((cells) => cells.map(parseNumber));
    temperatures.forEach(([T, pMax, mass, H, eH], i) => {
      assertBetween(pMax, 0, 1, `T = ${T}: p(arg max)`);
      assertBetween(mass, pMax - 1e-3, 1, `T = ${T}: top mass`);
      assertBetween(H, 0, lnV + 1e-3, `T = ${T}: entropy`);
      assertNear(eH, Math.exp(H), 1e-3 * Math.exp(H) + 1e-3, `T = ${T}: e^H`);
      if (i === 0) return;
      const [T0, pMax0, mass0, H0] = temperatures[i - 1];
      assert(T > T0, "temperatures increase down the table");
      assert(pMax <= pMax0 + 1e-3, `p(arg max) falls with T: ${pMax0} → ${pMax}`);
      assert(mass <= mass0 + 1e-3, `the top mass falls with T: ${mass0} → ${mass}`);
      assert(H >= H0 - 1e-3, `the entropy rises with T: ${H0} → ${H}`);
    });
    // Top-k renormalises the k most probable: p′ = p / Σ_top-k p, summing to 1.
    const [, k] = grab(out, /^top-k keeps the (\d+) most probable/m, "top-k");
    const groups = bars(out, /^top-k keeps the \d+ most probable/, "top-k");
    const kept = groups.filter((g) => g.values[1] > 0);
    assertEquals(kept.length, Number(k), "top-k keeps k characters");
    assertEquals(kept, groups.slice(0, kept.length), "top-k keeps the most probable");
    const keptMass = kept.reduce((sum, g) => sum + g.values[0], 0);
    assertNear(kept.reduce((sum, g) => sum + g.values[1], 0), 1, 1e-3, "top-k sums to 1");
    kept.forEach((g) => assertNear(g.values[1], g.values[0] / keptMass, 2e-3, `p′(${g.label})`));
    // Top-p: the nucleus holds at least p.
    const [size, nucleusMass, pNucleus] = numbers(
      out,
      re(String.raw`\|V⁽ᵖ⁾\| = (\d+),\s*Σ[^=\n]*= (N) ≥ (N)`),
      "the nucleus",
    );
    assertBetween(size, 1, V, "nucleus size");
    assert(nucleusMass >= pNucleus - 5e-4, `nucleus mass ${nucleusMass} ≥ p = ${pNucleus}`);
    // Decoding: distinct ÷ length is what the text shows; greedy repeats itself.
    const texts = table(out, /^setting\s+seed\s+“/, "decoded texts");
    for (const [setting, seed, text, ratio] of texts) {
      const chars = [...text];
      assertNear(
        parseNumber(ratio),
        new Set(chars).size / chars.length,
        6e-3,
        `${setting} ${seed}`,
      );
    }
    const greedy = parseNumber(row(texts, /^greedy/, "decoded texts")[3]);
    assert(greedy <= 0.5, `greedy's text repeats itself: distinct ÷ length = ${greedy}`);
    assertEquals(
      grab(out, re(String.raw`gives the same text: (\w+)`), "the re-run")[1],
      "yes",
      "seeded re-run",
    );
    assertEquals(
      grab(out, re(String.raw`same tokens: (\w+)`), "the KV cache")[1],
      "yes",
      "KV cache tokens",
    );
    // Beam search: log-probabilities, best first within each beam width.
    const beams = table(out, /^method\s+\d+ characters after/, "beam search");
    const logP = (label: RegExp) => parseNumber(row(beams, label, "beam search").at(-1)!);
    beams.forEach((cells) => assert(parseNumber(cells.at(-1)!) <= 0, `${cells[0]}: log P ≤ 0`));
    for (const B of grabAll(out, /beam search, B = (\d+), #1/g, "beams").map((m) => m[1])) {
      assert(logP(new RegExp(`B = ${B}, #1`)) >= logP(new RegExp(`B = ${B}, #2`)), `B = ${B}`);
    }
    // The sentence on this run's beams agrees with the table: its log P are the table's, and
    // "more / less probable" is their order.
    const greedyLogP = logP(/^greedy$/);
    const verdicts = grabAll(
      out,
      re(
        String
          .raw`B = (\d+) ends with (greedy's own text|a text more probable than greedy's|a text less probable than greedy's|a different text, as probable as greedy's) \(log P (N) against (N)\)`,
        "g",
      ),
      "the beam-versus-greedy sentence",
    );
    for (const [, B, verdict, best, greedy] of verdicts) {
      const [b, g] = [parseNumber(best), parseNumber(greedy)];
      assertNear(b, logP(new RegExp(`B = ${B}, #1`)), 6e-3, `B = ${B}: the sentence's log P`);
      assertNear(g, greedyLogP, 6e-3, `B = ${B}: greedy's log P in the sentence`);
      const said = verdict.replace(/\s+/g, " ");
      if (said.includes("more probable")) assert(b > g, `B = ${B}: ${said}, ${b} vs ${g}`);
      if (said.includes("less probable")) assert(b < g, `B = ${B}: ${said}, ${b} vs ${g}`);
    }
    // A wider beam that ends below a narrower one is said so, and only then.
    const widths = verdicts.map((m) => m[1]);
    widths.slice(1).forEach((B, i) => {
      const below = out.match(
        re(String.raw`B = ${B} ends below B = ${widths[i]} \((N) against (N)\)`),
      );
      const wide = logP(new RegExp(`B = ${B}, #1`));
      const narrow = logP(new RegExp(`B = ${widths[i]}, #1`));
      const what = `B = ${B} against B = ${widths[i]}: ${wide} vs ${narrow} (2 decimals)`;
      if (below) {
        assert(wide <= narrow, `said below, ${what}`);
        assertEquals([below[1], below[2]].map(parseNumber), [wide, narrow], what);
      } else {
        assert(wide >= narrow - 0.01, `not said below, ${what}`);
      }
    });
    // The hand-made model: B = 2 ends below greedy, and the sentence says so with its numbers.
    const hand = table(out, /^hand-made model\s+text\s+P\s+log P/, "the hand-made model");
    for (const [method, , P, lp] of hand) {
      assertNear(parseNumber(P), Math.exp(parseNumber(lp)), 1e-4, `${method}: P = e^log P`);
    }
    const handLogP = (label: RegExp) => parseNumber(row(hand, label, "hand-made").at(-1)!);
    assertEquals(handLogP(/B = 1$/), handLogP(/^greedy$/), "B = 1 is greedy");
    assert(handLogP(/B = 2$/) < handLogP(/^greedy$/), "B = 2 ends below greedy");
    const [twoP, greedyP] = numbers(
      out,
      re(
        String
          .raw`With B = 2 the best text is “[^”]*”, P = (N): less probable than greedy's “[^”]*”, P = (N)\.`,
      ),
      "the hand-made sentence",
    );
    assertNear(twoP, Math.exp(handLogP(/B = 2$/)), 1e-4, "B = 2's P in the sentence");
    assertNear(greedyP, Math.exp(handLogP(/^greedy$/)), 1e-4, "greedy's P in the sentence");
    // The nucleus sentence names the printed sizes and takes the branch they call for.
    const nuclei = table(out, /^after\s+mass of the top \d+\s+nucleus size/, "the nucleus sizes");
    const [mWide, mSharp] = nuclei.map((cells) => parseNumber(cells[2]));
    const said = grab(
      out,
      re(
        String
          .raw`The nucleus p = (N) holds (\d+) characters after “[^”]*” and (\d+) after “[^”]*”\. (Where the model is sure|It shrinks|It does not shrink)`,
      ),
      "the nucleus sentence",
    );
    assertEquals([Number(said[2]), Number(said[3])], [mWide, mSharp], "the sentence's sizes");
    const expected = mSharp <= Number(k)
      ? "Where the model is sure"
      : mSharp < mWide
      ? "It shrinks"
      : "It does not shrink";
    assertEquals(said[4].replace(/\s+/g, " "), expected, `nucleus ${mWide} → ${mSharp}`);
    // Chapter 06's cut, counted: the sentence's numbers are the table's.
    const corpus = table(out, /^corpus and model\s*$/, "the corpus table");
    const trainOf = (label: RegExp) =>
      parseNumber(row(corpus, label, "the corpus table")[1].split("/")[0]);
    const [loaded, kept06] = numbers(
      out,
      re(String.raw`of the (\d+) training poems it keeps the (\d+) written`),
      "chapter 06's cut",
    );
    assertEquals(loaded, trainOf(/^five-character poems loaded/), "poems loaded");
    assertEquals(kept06, trainOf(/^kept by chapter 06/), "kept by chapter 06");
    assert(trainOf(/^kept here/) < kept06 && kept06 < loaded, "the cuts are nested");
  },

  "08_finetuning.ts": (out) => {
    // The head on four examples: P(y ∣ x) sums to 1, −log P(y ∣ x), loss₂ their mean.
    const examples = table(out, /^text\s+y\s+P\(y=0/, "the head's probabilities");
    const nll = examples.map((cells) => {
      const y = Number(cells[1]);
      const p = cells.slice(2, -1).map(parseNumber);
      assertNear(p.reduce((a, b) => a + b, 0), 1, 1e-4 * p.length, `${cells[0]}: ΣP`);
      const loss = parseNumber(cells.at(-1)!);
      assertNear(loss, -Math.log(p[y]), 5e-4, `${cells[0]}: −log P(y ∣ x)`);
      return loss;
    });
    const [loss2, loss1, lambda, l2, lambda2, l1, loss3, lnV] = numbers(
      out,
      re(
        String.raw`loss₂ = (N),\s*loss₁ = (N),\s*loss₃ = loss₂ \+ (N) · loss₁ = ` +
          String.raw`(N) \+ (N) · (N) = (N),\s*ln V = (N)`,
      ),
      "L₃ = L₂ + λL₁",
    );
    assertEquals([l2, lambda2, l1], [loss2, lambda, loss1], "the same numbers in the sum");
    assertNear(loss3, loss2 + lambda * loss1, 2e-4, "loss₃ = loss₂ + λ·loss₁");
    assertNear(loss2, nll.reduce((a, b) => a + b, 0) / nll.length, 5e-4, "loss₂ = mean −log P");
    const [chapterLambda] = numbers(
      out,
      re(String.raw`L₃\(𝒞\) = L₂\(𝒞\) \+ λ · L₁\(𝒞\),\s*λ = (N)`),
      "the formula of L₃ with its λ",
    );
    assertEquals(lambda, chapterLambda, "the λ of L₃");
    assertBetween(loss1, 0, lnV, "the pre-trained body's loss₁ is below ln V");
    // Every comparison follows the 2·SE rule: "clearly better" / "no clear difference" /
    // "clearly worse" from the printed difference and 2 SE (skipping ties within rounding).
    const assertVerdict = (difference: number, se2: number, verdict: string, what: string) => {
      if (Math.abs(Math.abs(difference) - se2) <= 2e-3) return;
      const expected = difference > se2
        ? "clearly better"
        : difference < -se2
        ? "clearly worse"
        : "no clear difference";
      assertEquals(verdict, expected, `${what}: the 2·SE verdict`);
    };
    const accuracy = table(out, /^task\s+pre-trained\s+from scratch\s+difference/, "experiment 1");
    for (const cells of accuracy) {
      const [pre, scratch, difference, se2] = cells.slice(1, 5).map(parseNumber);
      const chance = parseNumber(cells[6]);
      [pre, scratch, chance].forEach((a) => assertBetween(a, 0, 1, `${cells[0]} accuracy`));
      assertNear(difference, pre - scratch, 1.5e-3, `${cells[0]}: difference`);
      assertVerdict(difference, se2, cells[5], cells[0]);
    }
    const comparisons = table(out, /^A vs B\s+A\s+B\s+A − B\s+2 SE\s+A is/, "every comparison");
    for (const cells of comparisons) {
      const [a, b, difference, se2] = cells.slice(1, 5).map(parseNumber);
      [a, b].forEach((x) => assertBetween(x, 0, 1, `${cells[0]}: accuracy`));
      assertNear(difference, a - b, 1.5e-3, `${cells[0]}: A − B`);
      assertVerdict(difference, se2, cells[5], cells[0]);
    }
    // Experiment 1's rows reappear in the closing table, with the same numbers and verdict.
    for (const cells of accuracy) {
      const again = row(comparisons, new RegExp(`^${cells[0]}: pre-trained vs from scratch`), "");
      assertEquals(again.slice(1, 6), cells.slice(1, 6), `${cells[0]} in the closing table`);
    }
    // The closing sentence on pre-training lists each task under its verdict.
    const sentence = grab(
      out,
      /Pre-training is ([\s\S]*?)\. In GPT-1's ablation/,
      "the sentence on pre-training",
    )[1].replace(/\s+/g, " ");
    for (const cells of accuracy) {
      const group = new RegExp(
        `${
          cells[5] === "no clear difference" ? "not clearly different" : `${cells[5]} than`
        } from scratch on ` +
          `[^;]*\\b${cells[0]}\\b`,
      );
      assert(group.test(sentence), `${cells[0]} is listed as ${cells[5]}: ${sentence}`);
    }
    // Experiment 2's sentence claims a rise with the blocks only when it clears 2 SE, and says
    // nothing transferred when neither the embeddings nor the whole body is clearly ahead.
    const [, sweepTask, layersText] = grab(
      out,
      /Layers transferred \((\w+)\): ([\s\S]*?)\n\s*•/,
      "the sentence on the layers transferred",
    );
    const sweepVerdict = (label: string) =>
      row(comparisons, new RegExp(`^${sweepTask}: ${label}`), "the closing table")[5];
    const nothing = /Nothing transferred beyond the noise/.test(layersText);
    assertEquals(
      nothing,
      sweepVerdict("pre-trained vs from scratch") !== "clearly better" &&
        sweepVerdict("embeddings only vs from scratch") !== "clearly better",
      `"nothing transferred" follows the verdicts: ${layersText}`,
    );
    if (/a rise as in Figure 2/.test(layersText.replace(/\s+/g, " "))) {
      assertEquals(sweepVerdict("all \\d+ blocks vs embeddings only"), "clearly better");
    }
    // Experiment 3 counts what each regime trains: the linear probe W_y (d·K) alone, prompt
    // tuning W_y and the task tokens' rows, full fine-tuning more than both.
    const [d, K, dK, tokens, d2, taskRows] = numbers(
      out,
      re(
        String
          .raw`W_y ∈ ℝ\^\((N)×(N)\): \S+ · \S+ = (N) parameters,\s*task tokens: (N) · (N) = (N)`,
      ),
      "the size of W_y",
    );
    assertEquals([dK, d2, taskRows], [d * K, d, tokens * d], "W_y and the task tokens' rows");
    const regimes = table(
      out,
      /^regime\s+trained parameters\s+validation accuracy/,
      "experiment 3",
    );
    const trained = (label: RegExp) => parseNumber(row(regimes, label, "experiment 3")[1]);
    assertEquals(trained(/^linear probe/), d * K, "the linear probe trains W_y alone");
    assertEquals(trained(/^prompt tuning/), d * K + tokens * d, "prompt tuning: + the task tokens");
    assert(trained(/^full fine-tuning, λ = 0\.5/) > trained(/^prompt tuning/), "full > prompt");
    for (const cells of regimes) {
      cells.slice(2, 4).forEach((a) => assertBetween(parseNumber(a), 0, 1, `${cells[0]}`));
    }
    const shares: [RegExp, string, number][] = [ // header, what, how many accuracy columns
      [/^transferred\s+test accuracy/, "experiment 2", 1],
      [/^multiple choice, test stories\s+accuracy/, "zero-shot", 1],
    ];
    for (const [header, what, columns] of shares) {
      for (const cells of table(out, header, what)) {
        cells.slice(1, 1 + columns).forEach((a) =>
          assertBetween(parseNumber(a), 0, 1, `${what}: ${cells[0]}`)
        );
      }
    }
    // Every run freed what it allocated.
    const [before, after] = numbers(
      out,
      re(String.raw`Tensors alive before the runs: (\d+); after them: (\d+)`),
      "the tensor count",
    );
    assertEquals(after, before, "tensors alive after the fine-tuning runs");
  },
  "09_gpt2_zero_shot.ts": (out) => {
    // GPT-2's four sizes counted from their configs (Hugging Face's counts), the ratio sentence.
    const sizes = table(out, /^model\s+layers\s+d_model\s+heads\s+parameters/, "GPT-2's sizes");
    const counted = sizes.map((cells) => parseNumber(cells[4]));
    assertEquals(counted, [124_439_808, 354_823_168, 774_030_080, 1_557_611_200]);
    const [ratio] = numbers(out, re(String.raw`largest GPT-2 has (N)× the parameters`), "ratio");
    assertNear(ratio, counted[3] / counted[0], 0.05, "the size ratio");
    // What is held out, counted from the data: a fifth of the sentences, 24 of the 81 sums.
    const [heldSentences, allSentences] = numbers(out, /(\d+) of the (\d+) sentences/, "held");
    assertEquals(heldSentences, Math.round(allSentences / 5), "a fifth of the sentences");
    assertEquals(numbers(out, /(\d+) of the (\d+) sums/, "held-out sums"), [24, 81]);
    // Zero-shot: accuracies in [0, 1], 2·SE as √(max(p(1 − p), 1/n)/n)·2, and the verdicts.
    const rows = table(out, /^task\s+items\s+base model\s+± 2·SE/, "zero-shot accuracy");
    assertEquals(rows.length, 7, "seven tasks");
    const beaten: string[] = [];
    for (const cells of rows) {
      const [n, p, se2, control, guess] = cells.slice(1).map(parseNumber);
      for (const v of [p, control, guess]) assertBetween(v, 0, 1, `${cells[0]}: an accuracy`);
      assertNear(se2, 2 * Math.sqrt(Math.max(p * (1 - p), 1 / n) / n), 2e-3, `${cells[0]}: 2·SE`);
      if (!/control word/.test(cells[0]) && p - se2 > Math.max(control, guess) + 2e-3) {
        beaten.push(cells[0]);
      }
    }
    if (beaten.length === 0) {
      assert(/On no task does the base model beat both/.test(out), "the 'no task' sentence");
    } else {
      const [, named] = grab(
        out,
        /more than two standard errors on: ([^.]+)\./,
        "the tasks beaten",
      );
      for (const task of beaten) assert(named.includes(task), `${task} is named as beaten`);
    }
    // The control words: the percentage in the sentence is the table's.
    const controlRow = row(rows, /control word/, "zero-shot accuracy");
    const [percent] = numbers(
      out,
      re(String.raw`base model is right (N)% of the time`),
      "controls",
    );
    assertNear(percent, 100 * parseNumber(controlRow[2]), 0.51, "the control words' accuracy");
    // P(y ∣ x, task) is the product of the printed token probabilities.
    const [, factors, total] = grab(
      out,
      re(String.raw`P\(y ∣ x, task\) = ∏ₜ P\(yₜ ∣ x, y_\(<t\)\) = ([^=]+) = (N)`),
      "P(y ∣ x, task)",
    );
    const product = factors.split("·").map(parseNumber).reduce((a, b) => a * b, 1);
    assertNear(product / parseNumber(total), 1, 0.05, "the product of the token probabilities");
    // The held-out loss against the unigram model, and the sentence's branch.
    const [loss, unigram] = numbers(
      out,
      re(String.raw`model's loss is (N) nats per token, against (N) for a model`),
      "held-out loss",
    );
    assert(
      out.includes(
        loss < unigram ? "it has learned how the pages go on" : "it has not yet learned",
      ),
      "the held-out loss sentence's branch",
    );
  },
  "10_gpt3_in_context.ts": (out) => {
    // Few-shot: accuracies in [0, 1], the mean between the lowest and highest draw, and the
    // invented-labels sentence quoting the table's K = 0 and K = 8 means.
    const fewShot = table(out, /^task\s+K\s+accuracy \(mean of 3 draws\)/, "few-shot accuracy");
    assertEquals(fewShot.length, 10, "two tasks × five K");
    for (const cells of fewShot) {
      const [mean, lo, hi] = cells.slice(2).map(parseNumber);
      for (const v of [mean, lo, hi]) assertBetween(v, 0, 1, `${cells[0]}, K ${cells[1]}`);
      assert(lo <= mean + 1e-3 && mean <= hi + 1e-3, `${cells[0]}, K ${cells[1]}: lo ≤ mean ≤ hi`);
    }
    const labels = fewShot.filter((cells) => /invented/.test(cells[0]));
    const [p0, p8] = numbers(
      out,
      re(String.raw`Invented labels: (N)% with no example, (N)% with 8`),
      "labels",
    );
    assertNear(p0, 100 * parseNumber(labels[0][2]), 0.51, "K = 0 in the sentence");
    assertNear(p8, 100 * parseNumber(labels[4][2]), 0.51, "K = 8 in the sentence");
    // In-context learning score = loss late − loss early; the closing sentence follows the signs.
    const icl = table(out, /^model\s+parameters\s+text\s+loss at/, "in-context learning scores");
    for (const cells of icl) {
      const [early, late, score] = cells.slice(3).map(parseNumber);
      assertNear(score, late - early, 2e-3, `${cells[0]}: the score`);
    }
    const negatives = icl.filter((cells) => parseNumber(cells[5]) < 0).length;
    assert(
      negatives === icl.length
        ? out.includes("Every model predicts late tokens better")
        : negatives === 0
        ? out.includes("No model predicts late tokens better")
        : out.includes("The score is negative for"),
      "the in-context learning sentence's branch",
    );
    // The masks: 136 = 16·17/2 causal scores; a window of 4 keeps 4·16 − 6 of them.
    assertEquals(numbers(out, /dense \(causal\): (\d+) of 256/, "causal count"), [136]);
    assertEquals(numbers(out, /local, window 4: (\d+) of 256/, "local count"), [58]);
    // GPT-3's dense layer: 2 products of 96 heads × 2,048² × 128 multiply-adds, fp16 scores.
    const costs = table(out, /^\s*attention-score GFLOPs\s+score memory/, "GPT-3's attention cost");
    const dense = row(costs, /^one dense layer/, "GPT-3's attention cost");
    assertNear(parseNumber(dense[1]), (4 * 96 * 2048 ** 2 * 128) / 1e9, 0.1, "dense GFLOPs");
    assertNear(parseNumber(dense[2]), (96 * 2048 ** 2 * 2) / 2 ** 20, 0.1, "dense score MiB");
  },
};

/** Runs a chapter's check on its output; a failure shows the end of that output. */
function checkChapterOutput(name: string, run: { stdout: string; stderr: string }) {
  try {
    CHAPTER_CHECKS[name](run.stdout);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${name}: ${message}${outputTail(run)}`, { cause: error });
  }
}

const chapters = chapterSources();
for (const path of chapters) {
  const name = path.replace(/^.*\//, "");
  Deno.test(`chapter ${name} runs with QUICK=1 and prints what it computes`, async () => {
    assert(
      Object.hasOwn(CHAPTER_CHECKS, name),
      `${name} has no entry in CHAPTER_CHECKS (tests/chapters_test.ts): add a check of the ` +
        `numbers it prints`,
    );
    const run = await runChapter(path);
    console.log(`  ${name}: ${run.seconds.toFixed(1)} s, ${run.stdout.split("\n").length} lines`);
    assertChapterRan(name, run);
    checkChapterOutput(name, run);
  });
}
if (chapters.length === 0) {
  Deno.test({ name: "chapters (skipped: no notebooks/NN_slug.ts yet)", ignore: true, fn() {} });
}

Deno.test("every entry of CHAPTER_CHECKS names a chapter source", () => {
  const names = new Set(chapters.map((path) => path.replace(/^.*\//, "")));
  for (const name of Object.keys(CHAPTER_CHECKS)) {
    assert(names.has(name), `CHAPTER_CHECKS has ${name}, but notebooks/ has no such chapter`);
  }
});

Deno.test("tables() reads back a table that the terminal renderer wrapped to its width", () => {
  const tokens = Array.from({ length: 9 }, (_, i) => `「编${i}」`).join(" ");
  const printed = showTable([["chars", tokens, 12], ["words", "「AI」", 3]], {
    header: ["tokenizer", "tokens", "n"],
  }).terminal({ color: "none", width: 40 });
  assert(printed.split("\n").length > 4, `not wrapped:\n${printed}`);
  assertEquals(table(`${printed}\n\nafter`, /^tokenizer/, "a wrapped table"), [
    ["chars", tokens, "12"],
    ["words", "「AI」", "3"],
  ]);
});

Deno.test("parseNumber reads the chapters' number formats", () => {
  const cases: [string, number][] = [
    ["12", 12],
    ["-0.5000", -0.5],
    ["−0.5", -0.5],
    ["116,534,784", 116534784],
    ["1.75e+11", 1.75e11],
    ["2.459e-4", 2.459e-4],
    ["66%", 0.66],
    ["-∞", -Infinity],
  ];
  for (const [text, value] of cases) assertEquals(parseNumber(text), value, text);
  assertNear(parseNumber("2.061 × 10⁻⁹"), 2.061e-9, 1e-20, "× 10⁻⁹");
  assertNear(parseNumber("1.805 × 10⁻³⁵"), 1.805e-35, 1e-45, "× 10⁻³⁵");
  assertThrows(() => parseNumber("yes"));
  assertThrows(() => parseNumber(""));
  assertEquals(parseMatrix("1, 0, 2; 2, 2, 2"), [[1, 0, 2], [2, 2, 2]]);
  assertEquals("a 2.061 × 10⁻⁹, 116,534,784 b".match(re("(N), (N)"))!.slice(1), [
    "2.061 × 10⁻⁹",
    "116,534,784",
  ]);
});

Deno.test("the fixture chapter runs and sees QUICK=1", async () => {
  const run = await runChapter(`${FIXTURES}/00_fixture.ts`);
  assertChapterRan("00_fixture.ts", run);
  assert(/^backend: (wasm|cpu)/m.test(run.stdout), run.stdout);
  assert(run.stdout.includes("sum: 6, QUICK=1"), run.stdout);
});

Deno.test("matchChapter picks a chapter by number, file name or slug", () => {
  const sources = ["/r/notebooks/00_introduction.ts", "/r/notebooks/01_text_representation.ts"];
  const [intro, text] = sources;
  for (const query of ["0", "00", "introduction", "00_introduction", "00_introduction.ts"]) {
    assertEquals(matchChapter(query, sources), [intro], query);
  }
  for (const query of ["1", "01", "001", "text_representation", "01_text_representation"]) {
    assertEquals(matchChapter(query, sources), [text], query);
  }
  for (const query of ["2", "text", "intro", ""]) {
    assertEquals(matchChapter(query, sources), [], query);
  }
});

Deno.test("chapterDir is the chapter's folder", () => {
  assertEquals(chapterDir("/r/notebooks/01_text.ts"), "/r/notebooks");
  assertEquals(chapterDir("/01_text.ts"), "/");
});

Deno.test("chapterSources lists only NN_slug.ts files, sorted", () => {
  const names = chapterSources(FIXTURES).map((p) => p.replace(/^.*\//, ""));
  assertEquals(names, ["00_fixture.ts"]);
});

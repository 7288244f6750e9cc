/**
 * Checks what a learner sees: `deno task browser-check [chapter...]` executes every
 * notebook (or the chapters named, as `deno task chapter` names them) with the Deno kernel
 * and QUICK=1 into `.out/browser/`, exports each to HTML with `jupyter nbconvert --to html`,
 * and opens each export offline in headless Chromium (Debian's, through playwright-core;
 * every request other than `file:`, `data:` and `blob:` is aborted and recorded).
 *
 * Per notebook it saves `.out/browser/NAME.png` (full page) and `NAME.counts.json`, and
 * fails (exit 1) on: an execution problem, a page error, a blocked request, fewer typeset
 * formulas in the page than the executed notebook has formula outputs (`text/latex`), or
 * fewer interactive Plotly plots than it has figure outputs. Exit 2 when a prerequisite (jupyter, chromium) is missing.
 *
 * `--dir FOLDER` checks the `NN_slug.ts` chapters of another folder (default `notebooks/`),
 * e.g. the tooling's fixture chapter; their notebooks must have been generated beside them.
 *
 * Env: `CHROMIUM` (default `/usr/bin/chromium`), `BROWSER_WAIT_MS` (default 2500).
 *
 * @module
 */
import { chromium } from "playwright-core";
import { fileURLToPath } from "node:url";
import { chapterSources, notebookPath } from "./notebooks.ts";
import { matchChapter } from "./chapter.ts";
import { ensureDenoKernel, executeNotebook, tail, which } from "./jupyter_exec.ts";

/** What one exported page contained, and what went wrong with it. */
export interface PageCounts {
  /** `<math>` elements (native MathML). */
  mathml: number;
  /** Elements MathJax rendered. */
  mathjax: number;
  /** Interactive Plotly plots (`.js-plotly-plot`). */
  plotly: number;
  /** Static plot images: `<img>` whose `src` is a `data:image/svg+xml` URL. */
  svgImages: number;
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** `console.error` messages. */
  consoleErrors: string[];
  /** Requests that would have left the machine (aborted). */
  blocked: string[];
}

/** What an executed notebook holds, so its page must show at least as much. */
export interface Expectations {
  /** Outputs that carry a formula (`text/latex`, from `formula(` and `` tex` ``). */
  formulas: number;
  /** Outputs that carry a Plotly figure (`application/vnd.plotly.v1+json`). */
  plots: number;
}

/** Counts the formula and plot outputs of an executed notebook (its JSON text). */
export function expectations(executedNotebook: string): Expectations {
  const nb = JSON.parse(executedNotebook) as {
    cells: { outputs?: { data?: Record<string, unknown> }[] }[];
  };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  return {
    formulas: outputs.filter((o) => o.data?.["text/latex"] !== undefined).length,
    plots: outputs.filter((o) => o.data?.["application/vnd.plotly.v1+json"] !== undefined).length,
  };
}

/**
 * The reasons a page fails the check (empty when it passes): any page error, any blocked
 * request, fewer typeset formulas (MathML + MathJax) than the notebook has formula outputs,
 * fewer interactive Plotly plots than it has figure outputs.
 */
export function pageFailures(counts: PageCounts, expected: Expectations): string[] {
  const failures: string[] = [];
  if (counts.pageErrors.length) failures.push(`${counts.pageErrors.length} page error(s)`);
  if (counts.blocked.length) failures.push(`${counts.blocked.length} blocked request(s)`);
  const typeset = counts.mathml + counts.mathjax;
  if (typeset < expected.formulas) {
    failures.push(`${expected.formulas} formula output(s), ${typeset} typeset in the page`);
  }
  if (counts.plotly < expected.plots) {
    failures.push(`${expected.plots} plot output(s), ${counts.plotly} drawn by Plotly`);
  }
  return failures;
}

/** Runs `jupyter nbconvert --to html` on an executed notebook; returns the HTML's path. */
async function exportHtml(notebook: string, outDir: string): Promise<string> {
  const out = await new Deno.Command("jupyter", {
    args: ["nbconvert", "--to", "html", "--output-dir", outDir, notebook],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    const log = new TextDecoder().decode(out.stderr);
    throw new Error(`HTML export of ${notebook} failed (exit ${out.code}):\n${tail(log, 20)}`);
  }
  return notebook.replace(/\.ipynb$/, ".html");
}

type Browser = Awaited<ReturnType<typeof chromium.launchPersistentContext>>;

/** Opens one HTML file offline, waits for it to settle, counts, and takes a screenshot. */
async function inspectPage(browser: Browser, html: string, waitMs: number): Promise<PageCounts> {
  const page = await browser.newPage();
  const pageErrors: string[] = [], consoleErrors: string[] = [], blocked: string[] = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (/^(?:file|data|blob):/.test(url)) return route.continue();
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  page.on("pageerror", (e) => pageErrors.push(String(e).slice(0, 300)));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text().slice(0, 300));
  });
  try {
    await page.goto(`file://${html}`, { waitUntil: "load", timeout: 120_000 });
  } catch (e) {
    pageErrors.push(`load: ${(e as Error).message.slice(0, 200)}`);
  }
  await page.waitForTimeout(waitMs);
  await page.waitForFunction(
    () => {
      // deno-lint-ignore no-explicit-any
      const hub = (globalThis as any).MathJax?.Hub;
      return !hub || (hub.queue.pending === 0 && !hub.queue.running);
    },
    null,
    { timeout: 20_000 },
  ).catch(() => {
    consoleErrors.push("MathJax still busy after 20 s");
  });
  const counts = await page.evaluate(() => {
    // Runs in the page; the DOM types are not part of this Deno program.
    const { document } = globalThis as unknown as {
      document: {
        querySelectorAll(
          selector: string,
        ): ArrayLike<{ getAttribute(name: string): string | null }>;
      };
    };
    const count = (selector: string) => document.querySelectorAll(selector).length;
    return {
      mathml: count("math"),
      mathjax: count(".MathJax, .MathJax_Display, .MathJax_CHTML, mjx-container"),
      plotly: count(".js-plotly-plot"),
      svgImages: Array.from(document.querySelectorAll("img"))
        .filter((img) => (img.getAttribute("src") ?? "").startsWith("data:image/svg+xml")).length,
    };
  });
  await page.screenshot({ path: html.replace(/\.html$/, ".png"), fullPage: true });
  await page.close();
  return { ...counts, pageErrors, consoleErrors, blocked };
}

/** One row of the summary. */
interface Row {
  name: string;
  seconds: number;
  counts?: PageCounts;
  failures: string[];
}

function printSummary(rows: Row[]): void {
  const header = ["notebook", "exec s", "math", "mathjax", "plotly", "svg img", "page err"];
  header.push("console err", "blocked", "result");
  const lines = rows.map((r) => {
    const c = r.counts;
    const n = (v: number | undefined) => v === undefined ? "-" : String(v);
    return [
      r.name,
      r.seconds.toFixed(1),
      n(c?.mathml),
      n(c?.mathjax),
      n(c?.plotly),
      n(c?.svgImages),
      n(c?.pageErrors.length),
      n(c?.consoleErrors.length),
      n(c?.blocked.length),
      r.failures.length ? `FAIL: ${r.failures.join("; ")}` : "ok",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ");
  console.log("\n" + format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(format(l));
}

async function main(args: string[]): Promise<number> {
  const outDir = fileURLToPath(new URL("../.out/browser", import.meta.url));
  const executable = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
  const waitMs = Number(Deno.env.get("BROWSER_WAIT_MS") ?? 2500);
  const missing: string[] = [];
  if (!which("jupyter")) {
    missing.push("jupyter (apt-get install -y jupyter-nbconvert python3-nbclient)");
  }
  try {
    Deno.statSync(executable);
  } catch {
    missing.push(`${executable} (apt-get install -y chromium, or set CHROMIUM)`);
  }
  if (missing.length) {
    console.error(`browser-check needs:\n  ${missing.join("\n  ")}`);
    return 2;
  }

  const dirAt = args.indexOf("--dir");
  const dir = dirAt >= 0 ? args.splice(dirAt, 2)[1] : undefined;
  if (dirAt >= 0 && !dir) {
    console.error("usage: deno task browser-check [--dir FOLDER] [chapter...]");
    return 2;
  }
  const all = chapterSources(dir ? Deno.realPathSync(dir) : undefined);
  const sources = args.length ? args.flatMap((q) => matchChapter(q, all)) : all;
  if (sources.length === 0) {
    const names = all.map((p) => p.replace(/^.*\//, "")).join(", ") || "none";
    console.error(`no chapter to check (asked: ${args.join(" ") || "all"}; available: ${names})`);
    return 2;
  }
  await ensureDenoKernel();
  await Deno.mkdir(outDir, { recursive: true });

  const profile = await Deno.makeTempDir({ prefix: "browser-check-" });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const rows: Row[] = [];
  try {
    for (const source of sources) {
      const name = source.replace(/^.*\//, "").replace(/\.ts$/, "");
      console.log(`== ${name}`);
      const run = await executeNotebook(notebookPath(source), outDir, { env: { QUICK: "1" } })
        .catch((e: Error) => ({ ok: false, seconds: 0, problems: [e.message], output: "" }));
      const row: Row = { name, seconds: run.seconds, failures: [] };
      rows.push(row);
      if (!run.ok) {
        row.failures.push("execution failed");
        console.error(run.problems.map((p) => `  ${p}`).join("\n"));
        continue;
      }
      console.log(`  executed in ${run.seconds.toFixed(1)} s`);
      try {
        const html = await exportHtml(run.output, outDir);
        row.counts = await inspectPage(browser, html, waitMs);
      } catch (e) {
        row.failures.push((e as Error).message.split("\n")[0]);
        console.error(`  ${(e as Error).message}`);
        continue;
      }
      row.failures.push(
        ...pageFailures(row.counts, expectations(Deno.readTextFileSync(run.output))),
      );
      await Deno.writeTextFile(
        `${outDir}/${name}.counts.json`,
        JSON.stringify({ notebook: name, ...row.counts, failures: row.failures }, null, 2) + "\n",
      );
      for (const e of [...row.counts.pageErrors, ...row.counts.consoleErrors]) {
        console.log(`  error in page: ${e}`);
      }
      for (const url of row.counts.blocked) console.log(`  blocked: ${url}`);
      console.log(`  ${outDir}/${name}.png`);
    }
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true });
  }
  printSummary(rows);
  const failed = rows.filter((r) => r.failures.length).length;
  console.log(`\n${rows.length} notebook(s) checked, ${failed} failed; screenshots in ${outDir}/`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * Executing notebooks through real Jupyter with Deno's kernel: finding `jupyter`,
 * registering the `deno` kernelspec, running `jupyter nbconvert --execute`, and checking
 * the executed notebook (no error outputs; every cell tagged `expect-output` has output).
 *
 * The kernel runs in the notebook's own folder (nbconvert's default), so a notebook must
 * be executed where it lives: `../lib/tensor.ts` and the bare specifiers of the
 * repository's `deno.json` (found by walking up from that folder) then resolve as they do
 * under `deno run`.
 *
 * @module
 */
import { EXPECT_OUTPUT } from "./notebooks.ts";

/** The absolute path of an executable named `name` on `PATH`, or `undefined`. */
export function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Runs a command to completion, capturing its output as text. */
async function capture(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options })
    .output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * Whether Jupyter knows a kernelspec named `deno`. Asks `jupyter kernelspec list --json`
 * and, where that subcommand is not installed (Debian ships it in the separate
 * `jupyter-client` package), looks for `kernels/deno/kernel.json` in the data folders
 * that `jupyter --paths --json` lists.
 */
export async function denoKernelInstalled(): Promise<boolean> {
  const listed = await capture("jupyter", ["kernelspec", "list", "--json"]);
  if (listed.code === 0) {
    const specs = JSON.parse(listed.stdout).kernelspecs ?? {};
    return "deno" in specs;
  }
  const paths = await capture("jupyter", ["--paths", "--json"]);
  if (paths.code !== 0) {
    throw new Error(`\`jupyter --paths --json\` failed (exit ${paths.code}): ${paths.stderr}`);
  }
  const dataDirs: string[] = JSON.parse(paths.stdout).data ?? [];
  return dataDirs.some((dir) => {
    try {
      return Deno.statSync(`${dir}/kernels/deno/kernel.json`).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Makes sure Jupyter can start Deno's kernel: when no `deno` kernelspec is installed, runs
 * `deno jupyter --install` with the running Deno binary. Throws when that fails.
 */
export async function ensureDenoKernel(): Promise<void> {
  if (await denoKernelInstalled()) return;
  const install = await capture(Deno.execPath(), ["jupyter", "--install", "--force"]);
  if (install.code !== 0 || !(await denoKernelInstalled())) {
    throw new Error(
      `\`deno jupyter --install\` did not register a "deno" kernelspec ` +
        `(exit ${install.code}): ${install.stdout}${install.stderr}`,
    );
  }
}

/** What {@link inspectExecuted} found wrong in an executed notebook. */
export interface NotebookProblems {
  /** One line per error output: `cell N: ename: evalue` (N counts all cells from 0). */
  errors: string[];
  /** Indices (among all cells, from 0) of cells tagged `expect-output` with no output. */
  emptyExpectOutput: number[];
}

interface NotebookCell {
  cell_type: string;
  metadata?: { tags?: string[] };
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
}

/** Lists the error outputs and the empty `expect-output` cells of a notebook's JSON text. */
export function inspectExecuted(notebookText: string): NotebookProblems {
  const cells: NotebookCell[] = JSON.parse(notebookText).cells;
  const problems: NotebookProblems = { errors: [], emptyExpectOutput: [] };
  cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const outputs = cell.outputs ?? [];
    for (const output of outputs) {
      if (output.output_type === "error") {
        problems.errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
      }
    }
    if ((cell.metadata?.tags ?? []).includes(EXPECT_OUTPUT) && outputs.length === 0) {
      problems.emptyExpectOutput.push(i);
    }
  });
  return problems;
}

/** Options of {@link executeNotebook}. */
export interface ExecuteOptions {
  /** Extra environment for the kernel (added to this process's), e.g. `{ QUICK: "1" }`. */
  env?: Record<string, string>;
  /** Per-cell timeout in seconds (nbconvert's `ExecutePreprocessor.timeout`); default 300. */
  timeoutS?: number;
  /** Whole-notebook re-runs allowed when an `expect-output` cell came back empty; default 1. */
  retries?: number;
}

/** The outcome of {@link executeNotebook}. */
export interface ExecuteResult {
  /** The notebook that was executed. */
  input: string;
  /** Where the executed notebook was written: `outDir/NAME.ipynb`. */
  output: string;
  /** True when nbconvert succeeded with no error output and no empty `expect-output` cell. */
  ok: boolean;
  /** How many times the notebook was run (1 + retries used). */
  attempts: number;
  /** Wall-clock seconds of all attempts together. */
  seconds: number;
  /** What went wrong, one entry per problem; empty when `ok`. */
  problems: string[];
  /** nbconvert's combined stdout and stderr of the last attempt. */
  log: string;
}

/**
 * Executes `input` with `jupyter nbconvert --to notebook --execute` and the `deno` kernel
 * into `outDir/NAME.ipynb`, then checks it with {@link inspectExecuted}. When the only
 * problem is an `expect-output` cell without output (the kernel can report a cell idle
 * before its output arrives), the whole notebook is run again, up to `retries` times.
 */
export async function executeNotebook(
  input: string,
  outDir: string,
  options: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const { env = {}, timeoutS = 300, retries = 2 } = options;
  try {
    await Deno.stat(input);
  } catch {
    throw new Error(`notebook ${input} does not exist; run \`deno task notebooks\` to generate it`);
  }
  await Deno.mkdir(outDir, { recursive: true });
  const name = input.replace(/^.*\//, "").replace(/\.ipynb$/, "");
  const output = `${outDir}/${name}.ipynb`;
  const started = performance.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const run = await capture("jupyter", [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.kernel_name=deno",
      `--ExecutePreprocessor.timeout=${timeoutS}`,
      "--output-dir",
      outDir,
      "--output",
      name,
      input,
    ], { env });
    const log = run.stdout + run.stderr;
    const result = (ok: boolean, problems: string[]): ExecuteResult => ({
      input,
      output,
      ok,
      attempts,
      seconds: (performance.now() - started) / 1000,
      problems,
      log,
    });
    if (run.code !== 0) {
      return result(false, [`nbconvert exited with code ${run.code}:\n${summarizeLog(log)}`]);
    }
    const found = inspectExecuted(await Deno.readTextFile(output));
    const problems = [
      ...found.errors,
      ...found.emptyExpectOutput.map((i) => `cell ${i}: tagged ${EXPECT_OUTPUT} but has no output`),
    ];
    if (problems.length === 0) return result(true, []);
    if (found.errors.length || attempts > retries) return result(false, problems);
  }
}

/**
 * The useful part of a failed nbconvert run's log: from nbclient's "An error occurred while
 * executing the following cell" (the cell and the kernel's error) when present, without the
 * Python traceback above it; otherwise its last 30 lines.
 */
function summarizeLog(log: string): string {
  const at = log.indexOf("An error occurred while executing the following cell");
  return at >= 0 ? log.slice(at).split("\n").slice(0, 40).join("\n").trimEnd() : tail(log, 30);
}

/** The last `lines` lines of `text`. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs a command attached to this terminal (stdin, stdout, stderr); returns its exit code. */
export async function runAttached(command: string, args: string[], cwd?: string): Promise<number> {
  const child = new Deno.Command(command, {
    args,
    cwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

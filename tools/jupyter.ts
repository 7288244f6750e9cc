/**
 * Opens the chapters as notebooks: `deno task jupyter` registers Deno's Jupyter kernel
 * (`deno jupyter --install --force`, which also points it at this Deno), then starts `jupyter notebook notebooks/`, or
 * `jupyter lab notebooks/` with `--lab`. Without Jupyter it says how to get it, and how
 * to use VS Code instead. Any other argument is passed on to Jupyter (`--allow-root` is
 * added when running as root).
 *
 * @module
 */
import { runAttached, which } from "./jupyter_exec.ts";
import { NOTEBOOKS_DIR } from "./notebooks.ts";

const HOW_TO_GET_JUPYTER = `Jupyter was not found on PATH. Either install it:
  Debian/Ubuntu:  sudo apt-get install -y jupyter-notebook
  with pip:       pip install notebook        (or: pip install jupyterlab, then --lab)
and run \`deno task jupyter\` again, or use VS Code:
  1. install the "Jupyter" extension (ms-toolsai.jupyter);
  2. open a notebook in notebooks/ (e.g. notebooks/01_*.ipynb);
  3. "Select Kernel" → "Jupyter Kernel…" → "Deno".
The Deno kernel is registered already (deno jupyter --install).`;

async function main(args: string[]): Promise<number> {
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install", "--force"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (install.code !== 0) {
    console.error(`\`deno jupyter --install\` failed with exit code ${install.code}`);
    return install.code;
  }
  const lab = args.includes("--lab");
  const rest = args.filter((a) => a !== "--lab");
  // Jupyter refuses to start as root (common in containers) unless told to.
  if (Deno.uid() === 0 && !rest.includes("--allow-root")) rest.push("--allow-root");
  if (!which("jupyter")) {
    console.error(HOW_TO_GET_JUPYTER);
    return 1;
  }
  const hasLab = which("jupyter-lab") !== undefined;
  if (lab && !hasLab) {
    console.error(
      "JupyterLab is not installed (pip install jupyterlab); opening the classic notebook",
    );
  }
  const chosen = lab && hasLab ? "lab" : "notebook";
  console.log(`starting: jupyter ${chosen} ${NOTEBOOKS_DIR} ${rest.join(" ")}`.trimEnd());
  return await runAttached("jupyter", [chosen, NOTEBOOKS_DIR, ...rest]);
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * `deno task pretrain`: builds the base models of chapters 09–13 into `.out/models/` — the base
 * model, chapter 09's control (the same model pre-trained on the web text without its task-like
 * pages) and two smaller models on the base corpus — and prints how each was made, with their
 * loss curves. Two models train at a time, one per core, each in its own process (its lines
 * prefixed by its name). Chapters read the checkpoints (`loadBaseModel` in
 * lib/experiments/base_model.ts) and build what is missing themselves.
 *
 * `deno task pretrain small tiny` builds only those; `--force` rebuilds models whose checkpoint
 * is already there; `QUICK=1` builds the tiny quick-mode versions the tests use.
 *
 * @module
 */
import { isQuick } from "../lib/env.ts";
import { countGPTParameters } from "../lib/gpt.ts";
import { initBackend } from "../lib/tensor.ts";
import { lineChart, monitorOnDemand, setup, show, table } from "../lib/show/mod.ts";
import {
  BASE_VARIANTS,
  baseModelPath,
  baseModelRecipe,
  type BaseVariant,
  loadBaseModel,
} from "../lib/experiments/base_model.ts";

/** Builds one variant in this process, with a progress bar and its loss curve. */
async function buildOne(variant: BaseVariant, quick: boolean): Promise<void> {
  await loadBaseModel(variant, {
    quick,
    log: (message) => console.log(message),
    progress: monitorOnDemand,
  });
}

/** Runs `deno run -A tools/pretrain.ts --one VARIANT`, each output line prefixed by the variant. */
async function buildInChild(variant: BaseVariant): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--one", variant],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const relay = async (stream: ReadableStream<Uint8Array>, write: (s: string) => void) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split(/\r?\n|\r/);
      rest = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") write(`[${variant}] ${line}`);
    }
    if (rest.trim() !== "") write(`[${variant}] ${rest}`);
  };
  await Promise.all([
    relay(child.stdout, (s) => console.log(s)),
    relay(child.stderr, (s) => console.error(s)),
  ]);
  return (await child.status).code;
}

async function main(args: string[]): Promise<number> {
  const quick = isQuick();
  const one = args.indexOf("--one");
  if (one >= 0) {
    await initBackend();
    await buildOne(args[one + 1] as BaseVariant, quick);
    return 0;
  }
  await setup({ title: "deno task pretrain: the base models of chapters 09–13" });
  const named = args.filter((a) => !a.startsWith("--"));
  const unknown = named.filter((a) => !BASE_VARIANTS.includes(a as BaseVariant));
  if (unknown.length > 0) {
    console.error(`unknown model ${unknown.join(", ")}: choose from ${BASE_VARIANTS.join(", ")}`);
    return 2;
  }
  const variants = named.length > 0 ? named as BaseVariant[] : [...BASE_VARIANTS];
  if (args.includes("--force")) {
    for (const v of variants) {
      await Deno.remove(baseModelPath(baseModelRecipe(v, quick))).catch(() => {});
    }
  }
  const started = performance.now();
  // Two at a time, largest first: base ∥ no-tasks, then small ∥ tiny.
  const queue = [...variants];
  const failed: string[] = [];
  await Promise.all([0, 1].map(async () => {
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
      if (await buildInChild(v) !== 0) failed.push(v);
    }
  }));
  if (failed.length > 0) {
    console.error(`building ${failed.join(", ")} failed (see its lines above)`);
    return 1;
  }
  const models = [];
  for (const v of variants) models.push(await loadBaseModel(v, { quick }));
  await show(
    table(
      models.map((m) => [
        m.recipe.variant,
        countGPTParameters(m.config),
        m.corpusTokens,
        m.recipe.steps,
        m.losses[m.losses.length - 1],
        m.seconds,
      ]),
      {
        header: ["model", "parameters", "corpus tokens", "steps", "final loss", "seconds"],
        title: `Base models in ${baseModelPath(models[0].recipe).replace(/[^/]*$/, "")}`,
      },
    ),
    lineChart(
      models.map((m) => ({
        name: m.recipe.variant,
        x: m.losses.map((_, i) => i + 1),
        y: m.losses,
      })),
      { title: "Pre-training loss", xTitle: "step", yTitle: "loss (nats per token)" },
    ),
  );
  console.log(`all built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

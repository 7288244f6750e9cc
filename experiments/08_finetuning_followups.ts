/**
 * Follow-up experiments to chapter 08 (notebooks/08_finetuning.ts), for the tasks that did not
 * transfer there: similarity and multiple choice. They need a pre-training of their own and
 * eight fine-tuning runs per seed, too many to add to the chapter, which names them instead of
 * running them. From the repository's root:
 *
 *   deno run -A experiments/08_finetuning_followups.ts          (QUICK=1: a short run;
 *                                                               FT_SEEDS=n: n seeds)
 *
 * The body is the chapter's ({@link fineTuneSettings}, {@link pretrainingCorpus}), pre-trained
 * the same way; every variant is fine-tuned from it and from scratch on the chapter's seeds,
 * and measured on its training split as well as its test split:
 *
 * 1. similarity and multiple choice as the chapter runs them — does fine-tuning even fit the
 *    training split?
 * 2. similarity with each pair reduced to the words it differs in ({@link
 *    similarityDifferingWords}: 日暮 / 黄昏 instead of two sentences) — is comparing two
 *    sentences the obstacle, or comparing two new words?
 * 3. multiple choice with the situation moved to the end of the story ({@link situationLast}),
 *    right before `<delim>` and the ending — is the distance the obstacle?
 *
 * Each variant's pre-trained and from-scratch test accuracies are compared with the chapter's
 * 2·SE rule ({@link compareAccuracies}).
 *
 * @module
 */
import {
  disposeGPT,
  type FineTuneTasks,
  initGPT,
  isQuick,
  loadFineTuneTasks,
  loadProse,
  loadTangPoems,
  md,
  progress,
  readEnv,
  setup,
  show,
  table,
} from "../mod.ts";
import {
  compareAccuracies,
  fineTuneSettings,
  pretrain,
  pretrainingConfig,
  pretrainingCorpus,
  similarityDifferingWords,
  situationLast,
  type TaskName,
  type TransferRun,
  transferRun,
} from "../lib/experiments/mod.ts";

await setup({ title: "chapter 08 follow-ups: why similarity and multiple choice resist" });
const settings = fineTuneSettings(isQuick(), { seeds: readEnv("FT_SEEDS") });
const tasks = await loadFineTuneTasks();
const corpus = pretrainingCorpus(await loadTangPoems(), await loadProse(), tasks, settings);
const config = pretrainingConfig(settings.pretraining, corpus.vocab.size);
const pretrained = initGPT(config, settings.pretraining.seed);
const pretraining = await progress(settings.pretraining.steps, "pre-training the body");
await pretrain(pretrained, config, corpus.trainIds, settings.pretraining, {
  onStep: (s) => pretraining.tick(s.step),
});
await pretraining.finish();

const variants: { name: string; task: TaskName; tasks: FineTuneTasks }[] = [
  { name: "similarity, as in the chapter", task: "similarity", tasks },
  {
    name: "similarity, only the words that differ",
    task: "similarity",
    tasks: similarityDifferingWords(tasks),
  },
  { name: "multipleChoice, as in the chapter", task: "multipleChoice", tasks },
  {
    name: "multipleChoice, situation at the end",
    task: "multipleChoice",
    tasks: situationLast(tasks),
  },
];
const starts = ["pretrained", "scratch"] as const;
const bar = await progress(variants.length * starts.length * settings.seeds, "fine-tuning runs");
let done = 0;
const rows: (string | number)[][] = [];
for (const variant of variants) {
  const runs: Record<(typeof starts)[number], TransferRun[]> = { pretrained: [], scratch: [] };
  for (let i = 0; i < settings.seeds; i++) {
    const seeded = { ...settings, seed: settings.seed + i };
    for (const start of starts) {
      runs[start].push(
        await transferRun(pretrained, config, corpus.vocab, variant.tasks, variant.task, seeded, {
          layers: start === "pretrained" ? config.layers : "none",
          measureTraining: true,
        }),
      );
      await bar.tick(++done, { variant: variant.name, seed: seeded.seed });
    }
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const examples = Math.min(
    settings.evalExamples ?? Infinity,
    variant.tasks[variant.task].test.length,
  );
  const c = compareAccuracies(
    runs.pretrained.map((r) => r.testAccuracy),
    runs.scratch.map((r) => r.testAccuracy),
    examples,
  );
  rows.push([
    variant.name,
    mean(runs.pretrained.map((r) => r.trainAccuracy!)),
    mean(runs.scratch.map((r) => r.trainAccuracy!)),
    c.a,
    c.b,
    c.difference,
    c.twoSE,
    c.verdict,
  ]);
}
await bar.finish();
disposeGPT(pretrained);
await show(
  table(rows, {
    header: [
      "variant",
      "train, pre-trained",
      "train, scratch",
      "test, pre-trained",
      "test, scratch",
      "difference",
      "2 SE",
      "pre-trained is",
    ],
    title: `accuracy (${settings.steps} fine-tuning steps, mean of ${settings.seeds} seed${
      settings.seeds > 1 ? "s" : ""
    }${settings.evalExamples ? `, first ${settings.evalExamples} examples of each split` : ""})`,
    digits: 3,
  }),
  md(
    "A training accuracy far below 1 means fine-tuning did not fit the examples it was shown; " +
      "a variant whose test verdict changes from the chapter's says where the obstacle was.",
  ),
);

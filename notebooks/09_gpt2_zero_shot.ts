// Chapter 09 — 3.2.2 GPT 2 Zero-shot创新
// Source of notebooks/09_gpt2_zero_shot.ipynb (regenerate with `deno task notebooks`).
// Run in a terminal: `deno task chapter 09` (`QUICK=1` uses tiny models built in seconds).

// %% [markdown]
// # 09 GPT-2 Zero-shot创新 — tasks stated in words
//
// GPT-1 (chapter 08) still needed a labelled data set and a new layer for every task. GPT-2
// (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners") asked whether a
// language model could do a task it is simply *told* about, with no example and no change to its
// weights — the article's example: “请将‘我是一名学生’翻译成英文。” The bet was on the data: text
// from the web is full of tasks stated in words and answered, so a model that predicts such text
// well must have learned to answer them. This chapter
//
// 1. counts what GPT-2 changed in GPT-1's architecture, from the two configurations;
// 2. shows the "web text" this project wrote — pages in which tasks appear the way they appear
//    on the web — and the base model pre-trained on it once (`deno task pretrain`), which
//    chapters 10–13 reuse;
// 3. asks that model the article's prompt and six kinds of held-out task, zero-shot, against
//    guessing and against the same model pre-trained without the task-like pages;
// 4. measures zero-shot accuracy against model size and training steps (GPT-2's Figure 1 in
//    miniature).
//
// **A note on the article's numbering.** The article puts GPT-3 and GPT-4 under 3.3.3 and 3.3.4
// (inside ChatGPT's section 3.3); they continue the GPT series of 3.2. The chapters keep the
// article's titles.

// %%
import {
  barChart,
  countGPTParameters,
  GPT1_CONFIG,
  GPT2_LARGE_CONFIG,
  GPT2_MEDIUM_CONFIG,
  GPT2_SMALL_CONFIG,
  GPT2_XL_CONFIG,
  gptLogProbNext,
  isQuick,
  lineChart,
  md,
  meanLoss,
  monitorOnDemand,
  setup,
  show,
  table,
  tex,
} from "../mod.ts";
import {
  type BaseModel,
  baseModelRecipe,
  type BaseVariant,
  chanceAccuracy,
  evaluationBatches,
  greedyAnswer,
  loadBaseModel,
  testSets,
  unigramCrossEntropy,
  webTextCorpus,
  zeroShotExactMatch,
  type ZeroShotSets,
} from "../lib/experiments/mod.ts";
import { generateWebText, heldOut, TASK_KINDS, translationRequest } from "../data/webtext.ts";
import { antonymRole, ANTONYMS, KINDS, nounsWithRole, type Role } from "../data/webtext_lexicon.ts";

await setup({ title: "09 GPT-2 Zero-shot" });
const quick = isQuick();

// %% [markdown]
// ## What GPT-2 changed, counted from the configurations
//
// GPT-2's architecture is GPT-1's with a few changes (Radford et al. 2019, §2.3): layer norm moved
// to the input of each sub-block (pre-LN, chapter 02) with one more after the last block; the
// context doubled to 1,024 tokens; a byte-level BPE of 50,257 tokens that can write any string
// (chapter 01); the residual layers' weights initialised smaller, by 1/√N for N residual layers.
// And it came in four sizes. Each row below is read from this library's configurations, each count
// from `countGPTParameters`.

// %%
const gpt2Sizes = [GPT2_SMALL_CONFIG, GPT2_MEDIUM_CONFIG, GPT2_LARGE_CONFIG, GPT2_XL_CONFIG];
const paperCounts = [117e6, 345e6, 762e6, 1542e6]; // Radford et al. 2019, Table 2
const counted = gpt2Sizes.map(countGPTParameters);
await show(
  table(
    [
      [
        "layer norm",
        GPT1_CONFIG.norm + "-LN",
        GPT2_SMALL_CONFIG.norm + "-LN, plus one after the last block",
      ],
      ["context n_ctx", GPT1_CONFIG.contextLength, GPT2_SMALL_CONFIG.contextLength],
      ["vocabulary |V|", GPT1_CONFIG.vocabSize, GPT2_SMALL_CONFIG.vocabSize],
      ["residual weights at init", "N(0, 0.02²)", "N(0, 0.02²) · 1/√N, N = residual layers"],
      ["parameters (12 blocks, d 768)", countGPTParameters(GPT1_CONFIG), counted[0]],
    ].map((r) => r.map(String)),
    { header: ["", "GPT-1", "GPT-2"], title: "GPT-1 → GPT-2" },
  ),
  table(
    gpt2Sizes.map((c, i) => [c.name, c.layers, c.dModel, c.heads, counted[i], paperCounts[i]]),
    {
      header: [
        "model",
        "layers",
        "d_model",
        "heads",
        "parameters (counted)",
        "the paper's Table 2",
      ],
      digits: 0,
    },
  ),
);
const ratio = counted[3] / counted[0];
await show(md(
  `The largest GPT-2 has ${ratio.toFixed(1)}× the parameters of the smallest. The paper's table ` +
    `gives ${
      counted.every((c, i) => c > paperCounts[i])
        ? "smaller numbers for every size"
        : "other numbers"
    } than a count of the released models' weights; the smallest model, for instance, is the ` +
    `“124M” of later work. (This project's models keep GPT-2's pre-LN and final layer norm, but ` +
    `initialise the residual weights like the others: at four blocks the 1/√N matters little.)`,
));

// %% [markdown]
// ## WebText, and what the article says about it
//
// **Erratum.** The article says OpenAI "从社交平台Reddit上抓取了约40GB的内容". WebText is not
// Reddit content: it is the text of the web pages that Reddit posts *linked to*, kept when the
// post had received at least 3 karma — a filter for pages some people found worth reading — about
// 45 million links, deduplicated and cleaned to slightly over 8 million documents, 40 GB of text,
// with Wikipedia removed (Radford et al. 2019, §2.1). And the article's second "GPT 2 参考论文",
// arXiv 2005.14165, is the GPT-3 paper (Brown et al. 2020, chapter 10's subject).
//
// The paper's point is what such text contains: tasks stated in words, in passing. Its Table 1
// shows English-to-French translations found in WebText, written the way people write them
// (“…as the French say, ‘Mentez mentez, il en restera toujours quelque chose,’ which translates
// as ‘Lie lie and something will always remain.’”).
//
// ## This project's web text
//
// A 40 GB corpus and a 1.5-billion-parameter model are out of reach here, so this project wrote
// its own small web (`data/webtext.ts`): Chinese pages with some English, of twelve kinds. In nine
// of them a task appears the way it does on the web — a glossary, a sentence followed by
// 用英文说就是…, a question and its answer, an addition table, a story and its one-line summary, a
// quiz with its answers — and three are plain prose. Several pages are lists of one relation (a
// glossary, a table of antonyms): that burstiness is what lets small models learn from examples
// in their context (Chan et al. 2022), which chapter 10 needs.

// %%
const recipe = baseModelRecipe("base", quick);
const corpus = webTextCorpus(recipe);
const examplePages = [...new Set(corpus.pages.map((p) => p.kind))].map((kind) =>
  corpus.pages.find((p) => p.kind === kind)!
);
await show(
  table(
    examplePages.map((p) => [
      p.kind,
      TASK_KINDS.includes(p.kind) ? "task-like" : "plain",
      corpus.pageCounts[p.kind] ?? 0,
      p.text,
    ]),
    { header: ["kind", "", "pages", "an example"], title: "One page of each kind" },
  ),
  md(
    `${corpus.pages.length.toLocaleString("en")} pages, ${
      corpus.ids.length.toLocaleString("en")
    } tokens (one per Chinese character, English word or punctuation mark; ${corpus.tokenizer.vocabSize} in the vocabulary).`,
  ),
);

// %% [markdown]
// **What is held out.** Zero-shot asks whether a model applies what it read to a task stated in
// words, so the test prompts must never occur in the text with their answers — while the
// knowledge they need must. `tests/webtext_test.ts` checks both on the corpus itself.

// %%
const held = heldOut();
const roleCount = (role: Role) => nounsWithRole(role).length / Object.keys(KINDS).length;
await show(md(
  [
    `- Of each kind of noun, ${roleCount("taught")} words are *taught*: their English appears in ` +
    "every frame, the request frame “问：请将“X”翻译成英文。答：” included.",
    `- ${roleCount("held-out")} are *held out*: their English appears in glossaries, notes and ` +
    "quizzes, never in the request frame.",
    `- ${roleCount("control")} are *controls*: the Chinese word occurs on Chinese pages and the ` +
    "English word on English pages, never together, so nothing tells the model what they mean.",
    `- ${held.heldOutSentences.length} of the ${
      held.heldOutSentences.length + held.taughtSentences.length
    } sentences — “我是一名学生” among them — are never translated, although all their words are.`,
    `- ${held.heldOutSums.length} of the ${
      held.heldOutSums.length + held.taughtSums.length
    } sums are in tables and word problems but never asked as a question.`,
    `- ${
      ANTONYMS.filter((_, i) => antonymRole(i) === "held-out").length
    } antonym pairs are in tables but never asked.`,
    "- Questions on fresh passages and summaries of fresh stories complete the tests.",
  ].join("\n"),
));

// %%
const sets = testSets(recipe, quick ? 20 : 200);
const taskNames: Record<keyof ZeroShotSets, string> = {
  translateWord: "translate a held-out word",
  translateControl: "translate a control word",
  translateSentence: "translate a held-out sentence",
  question: "answer from a passage",
  sum: "a held-out sum",
  antonym: "a held-out antonym",
  summary: "summarise a story",
};
const tasks = Object.keys(taskNames) as (keyof ZeroShotSets)[];
/** Short names for the charts' axes. */
const shortNames: Record<keyof ZeroShotSets, string> = {
  translateWord: "word",
  translateControl: "control word",
  translateSentence: "sentence",
  question: "question",
  sum: "sum",
  antonym: "antonym",
  summary: "summary",
};
await show(table(
  tasks.map((t) => [taskNames[t], sets[t].length, sets[t][sets[t].length > 1 ? 1 : 0].prompt]),
  { header: ["task", "items", "an example prompt"], title: "The zero-shot tests" },
));

// %% [markdown]
// ## The base model
//
// One GPT, pre-trained once on this text with GPT-1's objective L₁ (chapter 06), is the base model
// of the rest of the book. `deno task pretrain` builds it into the cache folder, together with a
// control pre-trained the same way on the corpus *without* its task-like pages, and two smaller
// models on the full corpus; when a model is missing, this cell builds it with a progress bar —
// one after another here, where `deno task pretrain` trains two at a time (the tests use tiny
// versions built in seconds).

// %%
/** A base model from the cache, or built here with a progress bar and its loss curve. */
const model = (variant: BaseVariant) =>
  loadBaseModel(variant, { quick, log: (m) => console.log(m), progress: monitorOnDemand });
const base = await model("base");
const control = await model("no-tasks");
const small = await model("small");
const tiny = await model("tiny");

// Held-out pages (another seed) for the loss against a unigram model of the training stream.
const heldPages = generateWebText({ pages: quick ? 200 : 1000, seed: recipe.corpusSeed + 1 });
const bos = base.tokenizer.vocab.idOf("<s>");
const heldIds = heldPages.flatMap((p) => [bos, ...base.tokenizer.encode(p.text)]);
const unigram = unigramCrossEntropy(corpus.ids, heldIds, base.tokenizer.vocabSize);
const heldBatches = evaluationBatches(heldIds, {
  contextLength: base.config.contextLength,
  batchSize: 16,
  evalWindows: quick ? 16 : 128,
});
const heldLoss = meanLoss(base.params, base.config, heldBatches);
heldBatches.forEach((b) => {
  b.inputs.dispose();
  b.targets.dispose();
});
await show(
  table([[
    countGPTParameters(base.config).toLocaleString("en"),
    `${base.config.layers} × d ${base.config.dModel}`,
    base.corpusTokens.toLocaleString("en"),
    String(base.recipe.steps),
    base.recipe.steps * base.recipe.batchSize * base.recipe.contextLength / base.corpusTokens,
    heldLoss,
    unigram,
  ]], {
    header: [
      "parameters",
      "blocks",
      "corpus tokens",
      "steps",
      "passes over it",
      "held-out loss",
      "unigram",
    ],
    title: "How the base model was made",
    digits: 2,
  }),
  md(
    `On held-out pages the model's loss is ${heldLoss.toFixed(2)} nats per token, against ${
      unigram.toFixed(2)
    } for a model that knows only how often each token occurs: ${
      heldLoss < unigram
        ? "it has learned how the pages go on, not just their words"
        : "it has not yet learned more than the words' frequencies (quick mode's tiny model)"
    }.`,
  ),
);

// %% [markdown]
// ## The article's prompt
//
// No examples, no task token, no fine-tuning: the prompt is the article's sentence in the frame
// the web text uses for requests, and the model continues it greedily until it writes “。”.

// %%
const articlePrompt = translationRequest("我是一名学生");
const articleAnswer = greedyAnswer(base, articlePrompt);
const articleRight = articleAnswer === "I am a student.";
await show(md(
  `**${articlePrompt}** → **${articleAnswer || "(nothing)"}** — ${
    articleRight
      ? "the right translation, although the corpus never translates this sentence: it " +
        "translates its words and other sentences of the same shape."
      : "not “I am a student.”: the model did not compose the translation from the words and " +
        "sentences it saw translated."
  }`,
));

// %% [markdown]
// GPT-2 frames every task this way (§2): a language model estimates p(output ∣ input), and a
// general system should estimate p(output ∣ input, task) — with the task given in words, as part of
// the input. The model's probability of the right answer, token by token:

// %%
const expectedIds = base.tokenizer.encode("I am a student.");
const logProbNext = gptLogProbNext(base.params, base.config);
const context = [bos, ...base.tokenizer.encode(articlePrompt)];
const tokenProbs = expectedIds.map((id, t) =>
  Math.exp(logProbNext([...context, ...expectedIds.slice(0, t)])[id])
);
const answerProb = tokenProbs.reduce((a, b) => a * b, 1);
await show(
  tex`P(y \mid x, \text{task}) = \prod_t P(y_t \mid x, y_{<t}) = ${
    tokenProbs.map((p) => p.toPrecision(3)).join(" \\cdot ")
  } = ${answerProb}`,
  md(
    `with y = “I am a student.” in ${expectedIds.length} tokens (${
      expectedIds.map((id) => base.tokenizer.vocab.tokenOf(id)).join(" · ")
    }). The weakest step gives its token ${Math.min(...tokenProbs).toFixed(3)}: ${
      Math.min(...tokenProbs) > 0.5
        ? "every token of the translation is the model's first choice"
        : "at that step the model would rather write something else"
    }.`,
  ),
);

// %% [markdown]
// ## Zero-shot, task by task
//
// Every held-out item, answered greedily; an answer counts when it is exactly right. Beside the
// base model: guessing (a word drawn from the lexicon, one of the passage's names for a question,
// always 10 for a sum…), and the control model, pre-trained in the same way on the corpus without
// its task-like pages.

// %%
function evaluate(m: BaseModel) {
  return Object.fromEntries(tasks.map((t) => [t, zeroShotExactMatch(m, sets[t])])) as Record<
    keyof ZeroShotSets,
    ReturnType<typeof zeroShotExactMatch>
  >;
}
const baseResults = evaluate(base);
const controlResults = evaluate(control);
const chance = Object.fromEntries(tasks.map((t) => [t, chanceAccuracy(t, sets[t])])) as Record<
  keyof ZeroShotSets,
  number
>;
/** Two standard errors of an accuracy p measured on n items, √(p(1 − p)/n). */
const twoSE = (p: number, n: number) => 2 * Math.sqrt(Math.max(p * (1 - p), 1 / n) / n);
await show(
  table(
    tasks.map((t) => [
      taskNames[t],
      String(sets[t].length),
      baseResults[t].accuracy,
      twoSE(baseResults[t].accuracy, sets[t].length),
      controlResults[t].accuracy,
      chance[t],
    ]),
    {
      header: ["task", "items", "base model", "± 2·SE", "control (no task pages)", "guessing"],
      title: "Zero-shot exact-match accuracy",
      digits: 3,
    },
  ),
  barChart(tasks.map((t) => shortNames[t]), [
    { name: "base model", values: tasks.map((t) => baseResults[t].accuracy) },
    { name: "control (no task pages)", values: tasks.map((t) => controlResults[t].accuracy) },
    { name: "guessing", values: tasks.map((t) => chance[t]) },
  ], { title: "Zero-shot accuracy", yTitle: "exact match" }),
);

// %%
const beats = (t: keyof ZeroShotSets) =>
  baseResults[t].accuracy - twoSE(baseResults[t].accuracy, sets[t].length) >
    Math.max(chance[t], controlResults[t].accuracy);
const strong = tasks.filter((t) => t !== "translateControl" && beats(t));
const weak = tasks.filter((t) => t !== "translateControl" && !beats(t));
const list = (ts: (keyof ZeroShotSets)[]) => ts.map((t) => taskNames[t]).join(", ");
const controlWord = baseResults.translateControl.accuracy;
await show(md(
  [
    strong.length > 0
      ? `- The base model beats both guessing and the control by more than two standard errors on: ${
        list(strong)
      }.`
      : "- On no task does the base model beat both guessing and the control by more than two " +
        "standard errors.",
    strong.length === 0
      ? ""
      : weak.length > 0
      ? `- It does not, on: ${list(weak)}.`
      : "- It does on every task that it could know from its corpus.",
    `- The control model, which read the same prose without the task-like pages, answers ${
      tasks.filter((t) => controlResults[t].accuracy > chance[t]).length === 0
        ? "no task better than guessing"
        : `some tasks above guessing (${
          list(tasks.filter((t) => controlResults[t].accuracy > chance[t]))
        })`
    }: ${
      tasks.every((t) => controlResults[t].accuracy <= baseResults[t].accuracy)
        ? "the ability comes from the task-like text, not from the model or the prose alone"
        : "on some task the control does as well, so there the ability does not come from the " +
          "task-like text"
    }.`,
    `- On the control words, whose English never stands next to them, the base model is right ${
      (100 * controlWord).toFixed(0)
    }% of the time — ${
      controlWord === 0
        ? "as it must be: zero-shot applies what the text taught, it does not invent it"
        : "above zero, which would need explaining: nothing in the corpus pairs these words"
    }.`,
  ].filter((line) => line !== "").join("\n"),
));

// %% [markdown]
// Some answers, right and wrong (✓ / ✗), with what was expected:

// %%
const samples = (t: keyof ZeroShotSets, k: number) => {
  const rights = baseResults[t].answers.filter((a) => a.right).slice(0, k);
  const wrongs = baseResults[t].answers.filter((a) => !a.right).slice(0, k);
  return [...rights, ...wrongs].map((a) => [
    taskNames[t],
    shorten(a.item.prompt),
    `${a.right ? "✓" : "✗"} ${a.answer || "(nothing)"}`,
    a.item.answer,
  ]);
};
function shorten(prompt: string): string {
  return prompt.length > 40 ? `…${prompt.slice(-38)}` : prompt;
}
await show(table(tasks.flatMap((t) => samples(t, 2)), {
  header: ["task", "prompt", "answer", "expected"],
}));

// %% [markdown]
// ## Zero-shot accuracy grows with size and with training
//
// GPT-2's Figure 1 plots zero-shot performance on four tasks against the number of parameters:
// every task improves with size, and none had stopped improving at 1.5B. The same experiment in
// miniature, with three models pre-trained on the same text for the same number of steps, and the
// base model's accuracy on the first items of each test recorded as it trained.

// %%
const sized = [tiny, small, base];
const sizedResults = sized.map((m) => (m === base ? baseResults : evaluate(m)));
const shownTasks = tasks.filter((t) => t !== "translateControl");
const paramsOf = sized.map((m) => countGPTParameters(m.config));
await show(
  table(
    sized.map((m, i) => [
      m.recipe.variant,
      paramsOf[i].toLocaleString("en"),
      ...shownTasks.map((t) => sizedResults[i][t].accuracy),
    ]),
    { header: ["model", "parameters", ...shownTasks.map((t) => shortNames[t])], digits: 3 },
  ),
  lineChart(
    shownTasks.map((t) => ({
      name: shortNames[t],
      x: paramsOf.map((p) => Math.log10(p)),
      y: sizedResults.map((r) => r[t].accuracy),
    })),
    {
      title: "Zero-shot accuracy against model size",
      xTitle: "log₁₀ parameters",
      yTitle: "exact match",
    },
  ),
  lineChart(
    shownTasks.map((t) => ({
      name: shortNames[t],
      x: base.curve.map((c) => c.step),
      y: base.curve.map((c) => c.accuracy[t]),
    })),
    {
      title: "The base model's zero-shot accuracy during pre-training (first items of each test)",
      xTitle: "step",
      yTitle: "exact match",
    },
  ),
);
const rising = shownTasks.filter((t) =>
  sizedResults[2][t].accuracy >
    sizedResults[0][t].accuracy + twoSE(sizedResults[0][t].accuracy, sets[t].length)
);
await show(md(
  rising.length === shownTasks.length
    ? "Every task improves from the smallest model to the largest, as in GPT-2's Figure 1."
    : rising.length > 0
    ? `From the smallest model to the largest, ${list(rising)} improve${
      rising.length === 1 ? "s" : ""
    } by more than two standard errors; ${list(shownTasks.filter((t) => !rising.includes(t)))} do${
      shownTasks.length - rising.length === 1 ? "es" : ""
    } not.`
    : "No task improves by more than two standard errors from the smallest model to the largest " +
      "here.",
));

// %% [markdown]
// ## Erratum: “没有什么惊艳的表现” is half true
//
// The article ends its GPT-2 section saying the paper's results were unremarkable. The paper's own
// numbers split (Radford et al. 2019, §3): zero-shot, the 1.5B model set the state of the art on
// 7 of the 8 language-modelling data sets it was tested on (Table 3: LAMBADA, Children's Book
// Test, WikiText-2 and -103, PTB, enwik8, text8; not the One Billion Word Benchmark), and on the
// Winograd Schema Challenge. As a system that does tasks, it was weak: reading comprehension on
// CoQA reached 55 F1, matching or beating 3 of 4 baselines; summaries of CNN/Daily Mail articles
// only just beat picking three random sentences (§3.6); translation reached 5 BLEU English →
// French and 11.5 French → English (§3.7); it answered 4.1% of Natural Questions exactly (§3.8).
// Impressive as a language model, promising but far from useful as a zero-shot task solver — the
// gap GPT-3 (chapter 10) closed mostly with scale and with examples in the prompt.

// %%
await show(md(
  strong.length > 0 && weak.length > 0
    ? `The miniature splits too: ${list(strong)} work zero-shot, while ${list(weak)} ${
      weak.length === 1 ? "stays" : "stay"
    } near guessing.`
    : strong.length > 0
    ? "In the miniature every task the corpus taught works zero-shot: it does not show the split."
    : "In the miniature no task works zero-shot: it shows only the weak half of the split.",
));

// %% [markdown]
// ## Things to try
//
// 1. Ask your own prompt: `greedyAnswer(base, "问：请将“老虎”翻译成英文。答：")`, or a frame the
//    corpus never uses, such as `"老虎的英文："`. Does the frame matter?
// 2. Look at `controlResults.question.answers`: what does the control model write after 答：,
//    a frame it has never seen?
// 3. Find which held-out sentences fail (`baseResults.translateSentence.answers`): is it the
//    subject, the verb or the noun that goes wrong?
// 4. Sums are known from addition tables but asked in another frame: compare
//    `greedyAnswer(base, "加法表：3+5=")` with the question frame.
// 5. Rebuild the models with more steps (`deno task pretrain --force` after raising `steps` in
//    `baseModelRecipe`) and watch the curve above.

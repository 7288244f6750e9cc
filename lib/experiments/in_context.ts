/**
 * Chapter 10's in-context learning on the base model (lib/experiments/base_model.ts): prompts in
 * GPT-3's format — a task description, K examples, the query (Brown et al. 2020, Figure 2.1) —
 * for a task the model knows from pre-training and one invented for each prompt, accuracy against
 * K, and Olsson et al.'s in-context learning score.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { makeRng } from "../tensor.ts";
import { gptTokenLogProbs } from "../sampling.ts";
import { type BaseModel, greedyAnswer } from "./base_model.ts";
import { classificationGame, GAME_TITLE } from "../../data/webtext.ts";
import { nounsWithRole } from "../../data/webtext_lexicon.ts";

/** One few-shot prompt and the answer it asks for. */
export interface FewShotItem {
  /** Description, K examples and the query. */
  prompt: string;
  /** The expected answer. */
  answer: string;
}

/** A few-shot task: how to draw a prompt with K examples, and how its answer ends. */
export interface FewShotTask {
  /** A short name. */
  name: string;
  /** Whether the model can know the answers from pre-training (else only the examples tell). */
  knowable: boolean;
  /** A prompt with `k` examples and a query, drawn with `rng`. */
  draw(rng: () => number, k: number): FewShotItem;
  /** The tokens that end an answer. */
  stops: readonly string[];
  /** The most tokens an answer may take. */
  maxNewTokens: number;
}

/**
 * Word translation in the glossary format of the web text: 生词表：猫：cat；狗：dog；老虎： — the
 * examples are taught words, the query a held-out word (whose English the corpus states in
 * glossaries, never in the request frame of chapter 09).
 */
export const TRANSLATE_TASK: FewShotTask = {
  name: "translate a held-out word",
  knowable: true,
  draw(rng, k) {
    const taught = nounsWithRole("taught");
    const held = nounsWithRole("held-out");
    const query = held[Math.floor(rng() * held.length)];
    const examples: typeof taught = [];
    while (examples.length < k) {
      const n = taught[Math.floor(rng() * taught.length)];
      if (!examples.includes(n)) examples.push(n);
    }
    return {
      prompt: `生词表：${examples.map((n) => `${n.zh}：${n.en}；`).join("")}${query.zh}：`,
      answer: query.en,
    };
  },
  stops: ["；", "。", "<s>"],
  maxNewTokens: 3,
};

/**
 * A classification game invented for each prompt: two kinds of noun, each given one of two label
 * words at random (分类游戏：苹果是左，猫是右，梨是), the query a noun of one of the two kinds that
 * no example names. No page of the corpus can say which label this prompt gives to which kind:
 * only the examples can.
 */
export const CLASSIFY_TASK: FewShotTask = {
  name: "invented labels",
  knowable: false,
  draw(rng, k) {
    const game = classificationGame(rng, k + 1);
    const examples = game.pairs.slice(0, k);
    const [word, label] = game.pairs[k];
    return {
      prompt: `${GAME_TITLE}${examples.map(([w, l]) => `${w}是${l}，`).join("")}${word}是`,
      answer: label,
    };
  },
  stops: ["，", "。", "<s>"],
  maxNewTokens: 1,
};

/** Accuracy of one run of a few-shot task: `queries` prompts with `k` examples, drawn from `seed`. */
export function fewShotAccuracy(
  model: BaseModel,
  task: FewShotTask,
  k: number,
  opts: { queries: number; seed: number },
): { accuracy: number; items: (FewShotItem & { output: string; right: boolean })[] } {
  if (!Number.isInteger(k) || k < 0) {
    throw new Error(`fewShotAccuracy: k must be a non-negative integer, got ${k}`);
  }
  const rng = makeRng(opts.seed);
  const items = Array.from({ length: opts.queries }, () => {
    const item = task.draw(rng, k);
    const output = greedyAnswer(model, item.prompt, {
      stops: task.stops,
      maxNewTokens: task.maxNewTokens,
    });
    return { ...item, output, right: output === item.answer };
  });
  return { accuracy: items.filter((i) => i.right).length / Math.max(1, items.length), items };
}

/**
 * Olsson et al. (2022)'s in-context learning score: the mean loss of the token at position
 * `late` of a context minus that at position `early` (they take the 500th and the 50th). Negative
 * when tokens late in a context are predicted better than early ones — when the model uses what
 * the context has said. Read on `windows` windows of n_ctx tokens cut evenly from `ids`.
 */
export function inContextLearningScore(
  model: BaseModel,
  ids: readonly number[],
  opts: { early: number; late: number; windows: number },
): { score: number; early: number; late: number; lossByPosition: number[] } {
  const T = model.config.contextLength;
  const { early, late, windows } = opts;
  if (
    !(Number.isInteger(early) && Number.isInteger(late) && 0 <= early && early < late && late < T)
  ) {
    throw new Error(
      `inContextLearningScore: need 0 ≤ early < late < n_ctx = ${T}, got ${early} and ${late}`,
    );
  }
  if (ids.length < windows * (T + 1)) {
    throw new Error(
      `inContextLearningScore: ${windows} windows of ${T + 1} tokens need ${
        windows * (T + 1)
      } tokens, got ${ids.length}`,
    );
  }
  const stride = Math.floor((ids.length - T - 1) / Math.max(1, windows - 1));
  const inputs = Array.from({ length: windows }, (_, w) => ids.slice(w * stride, w * stride + T));
  const targets = Array.from(
    { length: windows },
    (_, w) => ids.slice(w * stride + 1, w * stride + T + 1),
  );
  const lossByPosition = tf.tidy(() => {
    const logp = gptTokenLogProbs(
      { params: model.params, config: model.config },
      tf.tensor2d(inputs, [windows, T], "int32"),
      tf.tensor2d(targets, [windows, T], "int32"),
    );
    return Array.from(tf.neg(tf.mean(logp, 0)).dataSync());
  });
  return {
    score: lossByPosition[late] - lossByPosition[early],
    early: lossByPosition[early],
    late: lossByPosition[late],
    lossByPosition,
  };
}

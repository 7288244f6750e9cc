/**
 * Prompting: asking a pre-trained language model a question with no supervised step. GPT-1
 * (Radford et al. 2018, §5, zero-shot behaviours) scores each candidate answer by how likely
 * the model finds it after the question, and takes the most likely one:
 *
 *   s(a) = (1/|a|) Σₜ log P(aₜ ∣ context, a₁ … aₜ₋₁; Θ),   answer = argmaxₐ s(a)
 *
 * ```ts
 * const scores = continuationLogProbs(params, config, vocab, "雨夜", ["回家", "看花"]);
 * zeroShotAccuracy(params, config, vocab, questions); // share answered right
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Vocabulary } from "./tokenizer.ts";
import type { GPTConfig, GPTParams } from "./gpt.ts";
import { gptTokenLogProbs } from "./sampling.ts";
import { encodeChars } from "./finetune.ts";

/**
 * How likely the language model finds each candidate continuation of a context, before any
 * fine-tuning: the mean log-probability of its tokens,
 *
 *   s(a) = (1/|a|) Σₜ log P(aₜ ∣ context, a₁ … aₜ₋₁; Θ)
 *
 * the score GPT-1 (Section 5, zero-shot behaviours) uses to let the pre-trained model answer a
 * multiple-choice question with no supervised step: the candidate with the highest s wins.
 * The candidates run as one batch padded on the right ({@link gptTokenLogProbs}); the causal
 * mask keeps the padding from reaching any scored position. Throws on no candidates, an empty text, a character outside
 * `vocab`, or a context plus candidate longer than the model's context length.
 */
export function continuationLogProbs(
  p: GPTParams,
  config: GPTConfig,
  vocab: Vocabulary,
  context: string,
  candidates: readonly string[],
): number[] {
  if (candidates.length === 0) throw new Error("continuationLogProbs: no candidates");
  const encode = (text: string, name: string) => {
    const ids = encodeChars(vocab, text, name);
    const unknown = [...text].find((c) => !vocab.has(c));
    if (unknown !== undefined) {
      throw new Error(
        `continuationLogProbs: ${JSON.stringify(unknown)} in ${name} is not in the vocabulary`,
      );
    }
    return ids;
  };
  const prefix = encode(context, "the context");
  const rows = candidates.map((c, i) => [...prefix, ...encode(c, `candidate ${i}`)]);
  const width = Math.max(...rows.map((r) => r.length));
  if (width > config.contextLength) {
    throw new Error(
      `continuationLogProbs: context plus candidate is ${width} tokens, more than the ` +
        `model's context length ${config.contextLength}`,
    );
  }
  const padded = rows.map((r) => [...r, ...Array(width - r.length).fill(r[0])]);
  // log P(the next token) at every position, [k, width]: only these numbers leave the device.
  // The last position has no next token; its target (any id) is never read.
  const next = tf.tidy(() => {
    const x = tf.tensor2d(padded, [rows.length, width], "int32");
    const y = tf.tensor2d(padded.map((r) => [...r.slice(1), r[0]]), [rows.length, width], "int32");
    return gptTokenLogProbs({ params: p, config }, x, y).arraySync();
  });
  return rows.map((r, i) => {
    let sum = 0;
    for (let t = prefix.length; t < r.length; t++) sum += next[i][t - 1];
    return sum / (r.length - prefix.length);
  });
}

/**
 * GPT-1's zero-shot heuristic for multiple choice on a set of questions: the share for which
 * the candidate with the highest {@link continuationLogProbs} score (the first on a tie) is
 * the right one.
 */
export function zeroShotAccuracy(
  p: GPTParams,
  config: GPTConfig,
  vocab: Vocabulary,
  questions: readonly { context: string; candidates: readonly string[]; label: number }[],
): number {
  if (questions.length === 0) throw new Error("zeroShotAccuracy: no questions");
  let right = 0;
  for (const q of questions) {
    if (!Number.isInteger(q.label) || q.label < 0 || q.label >= q.candidates.length) {
      throw new Error(
        `zeroShotAccuracy: label ${q.label} is not one of the ${q.candidates.length} candidates`,
      );
    }
    const s = continuationLogProbs(p, config, vocab, q.context, q.candidates);
    if (s.indexOf(Math.max(...s)) === q.label) right++;
  }
  return right / questions.length;
}

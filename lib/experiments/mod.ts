/**
 * The chapters' experiments: each chapter's recipe (its corpus, model size, training run and
 * measurements) built from the teaching kernel. The kernel's API (mod.ts) does not include
 * them; a chapter imports both.
 *
 * - coreference.ts — chapter 04: a model trained to say what "it" refers to, and which of its
 *   attention heads looks at the referent;
 * - translation.ts — chapter 05: a Chinese → English encoder–decoder, trained and measured;
 * - pretraining.ts — chapter 06: a small GPT pre-trained on Tang poems, against a unigram
 *   baseline, writing quatrains;
 * - finetune_experiment.ts — chapter 08: GPT-1's transfer experiments in miniature;
 * - base_model.ts — chapters 09–13: the base model pre-trained once on the project's web text
 *   (`deno task pretrain`), its control and smaller siblings, and zero-shot answers;
 * - in_context.ts — chapter 10: few-shot prompts in GPT-3's format on the base model, and the
 *   in-context learning score;
 * - induction.ts — chapter 10: induction heads in a 2-layer attention-only GPT (and a 1-layer
 *   control), their induction and previous-token scores, and a finder for any GPT's;
 * - sparse_attention.ts — chapter 10: GPT-3's alternating dense and banded attention, counted
 *   (FLOPs, memory), timed, and trained beside dense and banded-only models.
 *
 * ```ts
 * import { corefConfig, initCorefModel, trainCoref } from "../lib/experiments/mod.ts";
 * ```
 *
 * @module
 */
export * from "./coreference.ts";
export * from "./translation.ts";
export * from "./pretraining.ts";
export * from "./finetune_experiment.ts";
export * from "./base_model.ts";
export * from "./in_context.ts";
export * from "./induction.ts";
export * from "./sparse_attention.ts";

/**
 * The teaching kernel of “learn how GPT works by running it”: every idea of the article,
 * as small functions over tfjs tensors, plus the display layer that draws them in Jupyter
 * and in a terminal. The chapters' experiment recipes are not part of it: they have their own
 * entry module, lib/experiments/mod.ts.
 *
 * ```ts
 * import { CharTokenizer, sinusoidalPositionalEncoding, heatmap, show, setup } from "./mod.ts";
 * await setup();
 * const pe = sinusoidalPositionalEncoding(32, 16);
 * await show(heatmap(pe, { title: "PE" }));
 * ```
 *
 * @module
 */
export * from "./lib/env.ts";
export * from "./lib/tensor.ts";
export * from "./lib/blas.ts";
export * from "./lib/tokenizer.ts";
export * from "./lib/embedding.ts";
export * from "./lib/ngram.ts";
export * from "./lib/show/mod.ts";
export * from "./lib/data.ts";
export * from "./lib/kernels.ts";
export * from "./lib/attention.ts";
export * from "./lib/transformer.ts";
export * from "./lib/train.ts";
export * from "./lib/gpt.ts";
export * from "./lib/checkpoint.ts";
export * from "./lib/objectives.ts";
export * from "./lib/sampling.ts";
export * from "./lib/finetune.ts";
export * from "./lib/prompting.ts";

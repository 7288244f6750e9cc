/**
 * GPT: the decoder-only Transformer of GPT-1 (Radford et al., 2018) and GPT-2 (2019).
 *
 *   h₀ = UWₑ + Wₚ                       token embeddings plus learned positions
 *   hₗ = transformer_block(hₗ₋₁)         l = 1 … n: the encoder block with the causal mask
 *   P(u) = softmax(hₙWₑᵀ)                the output layer is the embedding, transposed (tied)
 *
 * GPT-1 puts each layer norm after its residual sum (post-LN, as in "Attention Is All You
 * Need"); GPT-2 puts it before each sublayer and adds one final layer norm after the stack
 * (pre-LN). Both are one {@link GPTConfig} away from each other.
 *
 * Generation re-runs the model once per new token. {@link gptForwardCached} keeps every
 * layer's keys and values ({@link KVCache}) so that each new token only computes its own
 * query, key and value: the logits are the same as a full re-forward, and a token costs one
 * position's work plus attention over the cached keys instead of re-running the whole text.
 *
 * Differences from the original code, on purpose: block weights start Glorot-scaled
 * (`initEncoderBlock`) rather than N(0, 0.02); GELU is the exact x·Φ(x), while Hugging
 * Face's GPT-2 uses the tanh approximation "gelu_new" (the two differ by at most 4.7e-4 per
 * activation), so real GPT-2 weights give logits slightly different from Hugging Face's.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type {
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Variable,
  Variable1D,
  Variable2D,
} from "./tf_types.ts";
import { assertModelSizes, assertRank, tidyRecord } from "./tensor.ts";
import { embedTokens, initEmbedding, learnedPositions } from "./embedding.ts";
import { causalMask, MASKED, type MultiHeadParams } from "./attention.ts";
import {
  activate,
  type Activation,
  batchedMatMul,
  checkActivation,
  deriveSeeds,
  linear,
  matMul2d,
  stableSoftmax,
} from "./kernels.ts";
import { nativeBlas, nativeGemm } from "./blas.ts";
import {
  type EncoderBlockParams,
  feedForward,
  type FeedForwardParams,
  initEncoderBlock,
  initLayerNorm,
  layerNorm,
  type LayerNormParams,
  type NormPlacement,
} from "./transformer.ts";

/** The size and shape of a GPT. */
export interface GPTConfig {
  /** A label for tables and checkpoints, e.g. `"GPT-1"`. */
  name: string;
  /** Vocabulary size V: the rows of Wₑ and the width of the logits. */
  vocabSize: number;
  /** Context length n_ctx: the rows of Wₚ, the longest sequence the model reads. */
  contextLength: number;
  /** Number of Transformer blocks n. */
  layers: number;
  /** Attention heads h per block (d_model must be divisible by h). */
  heads: number;
  /** Model width d_model. */
  dModel: number;
  /** The feed-forward network's inner width d_ff (4·d_model in GPT-1 and GPT-2). */
  dFF: number;
  /** The feed-forward nonlinearity (GELU in GPT). */
  activation: Activation;
  /** Dropout rate on embeddings, attention weights and residual branches (used in training only). */
  dropout: number;
  /** Layer norm placement: `"post"` as GPT-1, `"pre"` (plus a final layer norm) as GPT-2. */
  norm: NormPlacement;
  /** Tied output layer, logits = hₙWₑᵀ (GPT-1, GPT-2); untied adds W_out ∈ ℝ^{d_model×V}. */
  tiedOutput: boolean;
}

/**
 * GPT-1 as published: 12 blocks, d_model 768, 12 heads, d_ff 3072, 512-token context,
 * a 40,478-token BPE vocabulary, post-LN, GELU, dropout 0.1, output tied to Wₑ.
 * {@link countGPTParameters} gives 116,534,784 parameters (the paper's "117M").
 */
export const GPT1_CONFIG: Readonly<GPTConfig> = Object.freeze({
  name: "GPT-1",
  vocabSize: 40478,
  contextLength: 512,
  layers: 12,
  heads: 12,
  dModel: 768,
  dFF: 3072,
  activation: "gelu",
  dropout: 0.1,
  norm: "post",
  tiedOutput: true,
});

/**
 * GPT-2 small: like GPT-1 but pre-LN with a final layer norm, a 1,024-token context and
 * the 50,257-token byte-level BPE. {@link countGPTParameters} gives 124,439,808, Hugging
 * Face's count for `gpt2` (the "124M" model; the paper's table rounds it to 117M).
 */
export const GPT2_SMALL_CONFIG: Readonly<GPTConfig> = Object.freeze({
  name: "GPT-2 small",
  vocabSize: 50257,
  contextLength: 1024,
  layers: 12,
  heads: 12,
  dModel: 768,
  dFF: 3072,
  activation: "gelu",
  dropout: 0.1,
  norm: "pre",
  tiedOutput: true,
});

/**
 * nanoGPT's CPU "baby GPT": 4 blocks, 4 heads, d_model 128, d_ff 512, 64-token context,
 * pre-LN, GELU, no dropout, tied output; about 0.8M parameters with a ~100-token
 * vocabulary. The vocabulary is the caller's: `gptConfig({ vocabSize: 65 })` starts here.
 */
export const GPT_TINY: Readonly<Omit<GPTConfig, "vocabSize">> = Object.freeze({
  name: "GPT tiny",
  contextLength: 64,
  layers: 4,
  heads: 4,
  dModel: 128,
  dFF: 512,
  activation: "gelu",
  dropout: 0,
  norm: "pre",
  tiedOutput: true,
});

/**
 * Throws unless `config` describes a GPT this library can build: positive integer sizes,
 * d_model divisible by h (naming both), dropout in [0, 1), a known activation and norm.
 */
export function checkGPTConfig(config: GPTConfig): void {
  assertModelSizes("GPTConfig", config, [
    "vocabSize",
    "contextLength",
    "layers",
    "heads",
    "dModel",
    "dFF",
  ]);
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new Error(`GPTConfig: dropout must be in [0, 1), got ${config.dropout}`);
  }
  checkActivation(config.activation, "GPTConfig");
  if (config.norm !== "post" && config.norm !== "pre") {
    throw new Error(`GPTConfig: norm must be "post" or "pre", got ${config.norm}`);
  }
}

/**
 * A small config: {@link GPT_TINY} with `overrides` applied (the vocabulary size is
 * required). When d_model changes and d_ff is not given, d_ff = 4·d_model. Validated with
 * {@link checkGPTConfig}.
 */
export function gptConfig(overrides: Partial<GPTConfig> & { vocabSize: number }): GPTConfig {
  const dModel = overrides.dModel ?? GPT_TINY.dModel;
  const config: GPTConfig = { ...GPT_TINY, dFF: 4 * dModel, ...overrides };
  checkGPTConfig(config);
  return config;
}

/**
 * The number of parameters of a GPT, from its config alone:
 *
 *   V·d + n_ctx·d                                  Wₑ and Wₚ
 *   + n·(4d² + 4d                                  W_q, W_k, W_v, W_o and their biases
 *        + 2·d·d_ff + d_ff + d                     the FFN's W₁, b₁, W₂, b₂
 *        + 4d)                                     two layer norms (γ, β)
 *   + 2d (pre-LN: the final layer norm) + d·V (untied output only)
 *
 * GPT-1: 116,534,784; GPT-2 small: 124,439,808.
 */
export function countGPTParameters(config: GPTConfig): number {
  checkGPTConfig(config);
  const { vocabSize: V, contextLength: n, layers, dModel: d, dFF } = config;
  const block = 4 * d * d + 4 * d + 2 * d * dFF + dFF + d + 4 * d;
  return V * d + n * d + layers * block + (config.norm === "pre" ? 2 * d : 0) +
    (config.tiedOutput ? 0 : d * V);
}

/** The parameters of a GPT: plain records of `tf.Variable`s. */
export interface GPTParams {
  /** Token embedding Wₑ ∈ ℝ^{V×d_model} (also the output layer when tied). */
  tokenEmbedding: Variable2D;
  /** Learned position table Wₚ ∈ ℝ^{n_ctx×d_model}. */
  positionEmbedding: Variable2D;
  /** The n blocks; each is an encoder block's parameters (run with the causal mask). */
  blocks: EncoderBlockParams[];
  /** The final layer norm after the stack (pre-LN only). */
  finalNorm?: LayerNormParams;
  /** The untied output layer W_out ∈ ℝ^{d_model×V} (absent when tied; no bias, as GPT-2). */
  output?: Variable2D;
}

/**
 * A fresh GPT, reproducible from `seed`: Wₑ, Wₚ (and W_out) from N(0, 0.02²) as in GPT-1,
 * blocks from `initEncoderBlock` (Glorot-scaled weights, zero biases, γ = 1, β = 0).
 */
export function initGPT(config: GPTConfig, seed: number): GPTParams {
  checkGPTConfig(config);
  const { vocabSize: V, contextLength, dModel: d, heads, dFF, layers } = config;
  const s = deriveSeeds(seed, 3 + layers);
  return {
    tokenEmbedding: initEmbedding(V, d, s[0]),
    positionEmbedding: initEmbedding(contextLength, d, s[1]),
    blocks: Array.from({ length: layers }, (_, i) => initEncoderBlock(d, heads, dFF, s[3 + i])),
    finalNorm: config.norm === "pre" ? initLayerNorm(d) : undefined,
    output: config.tiedOutput
      ? undefined
      : tf.tidy(() => tf.variable(tf.randomNormal([d, V], 0, 0.02, "float32", s[2])) as Variable2D),
  };
}

/**
 * Every parameter with its name, in a fixed order: `tokenEmbedding`, `positionEmbedding`,
 * `blocks.{i}.attention.{Wq,Wk,Wv,Wo,bq,bk,bv,bo}`, `blocks.{i}.norm1.{gamma,beta}`,
 * `blocks.{i}.ffn.{W1,b1,W2,b2}`, `blocks.{i}.norm2.{gamma,beta}`, `finalNorm.{gamma,beta}`
 * (pre-LN), `output` (untied). Checkpoints store tensors under these names.
 */
export function namedGPTParameters(p: GPTParams): [string, Variable][] {
  const named: [string, Variable][] = [
    ["tokenEmbedding", p.tokenEmbedding],
    ["positionEmbedding", p.positionEmbedding],
  ];
  p.blocks.forEach((b, i) => {
    const a = b.selfAttention;
    const pre = `blocks.${i}.`;
    named.push(
      [`${pre}attention.Wq`, a.Wq],
      [`${pre}attention.Wk`, a.Wk],
      [`${pre}attention.Wv`, a.Wv],
      [`${pre}attention.Wo`, a.Wo],
      [`${pre}attention.bq`, a.bq],
      [`${pre}attention.bk`, a.bk],
      [`${pre}attention.bv`, a.bv],
      [`${pre}attention.bo`, a.bo],
      [`${pre}norm1.gamma`, b.norm1.gamma],
      [`${pre}norm1.beta`, b.norm1.beta],
      [`${pre}ffn.W1`, b.ffn.W1],
      [`${pre}ffn.b1`, b.ffn.b1],
      [`${pre}ffn.W2`, b.ffn.W2],
      [`${pre}ffn.b2`, b.ffn.b2],
      [`${pre}norm2.gamma`, b.norm2.gamma],
      [`${pre}norm2.beta`, b.norm2.beta],
    );
  });
  if (p.finalNorm) named.push(["finalNorm.gamma", p.finalNorm.gamma]);
  if (p.finalNorm) named.push(["finalNorm.beta", p.finalNorm.beta]);
  if (p.output) named.push(["output", p.output]);
  return named;
}

/** The shape every named parameter of a GPT with this config has, in {@link namedGPTParameters}' order. */
export function gptParameterShapes(config: GPTConfig): [string, number[]][] {
  checkGPTConfig(config);
  const { vocabSize: V, contextLength: n, dModel: d, dFF } = config;
  const shapes: [string, number[]][] = [["tokenEmbedding", [V, d]], ["positionEmbedding", [n, d]]];
  for (let i = 0; i < config.layers; i++) {
    const pre = `blocks.${i}.`;
    for (const w of ["Wq", "Wk", "Wv", "Wo"]) shapes.push([`${pre}attention.${w}`, [d, d]]);
    for (const b of ["bq", "bk", "bv", "bo"]) shapes.push([`${pre}attention.${b}`, [d]]);
    shapes.push(
      [`${pre}norm1.gamma`, [d]],
      [`${pre}norm1.beta`, [d]],
      [`${pre}ffn.W1`, [d, dFF]],
      [`${pre}ffn.b1`, [dFF]],
      [`${pre}ffn.W2`, [dFF, d]],
      [`${pre}ffn.b2`, [d]],
      [`${pre}norm2.gamma`, [d]],
      [`${pre}norm2.beta`, [d]],
    );
  }
  if (config.norm === "pre") shapes.push(["finalNorm.gamma", [d]], ["finalNorm.beta", [d]]);
  if (!config.tiedOutput) shapes.push(["output", [d, V]]);
  return shapes;
}

/**
 * Builds a GPT's parameters from tensors keyed by the names of {@link namedGPTParameters}
 * (each becomes a new `tf.Variable`; the given tensors stay the caller's). Throws naming
 * the tensor when one is missing, has the wrong shape, or is not expected by the config.
 */
export function gptFromTensors(config: GPTConfig, tensors: Record<string, Tensor>): GPTParams {
  const shapes = gptParameterShapes(config);
  const expected = new Set(shapes.map(([name]) => name));
  const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
  if (unexpected.length > 0) {
    throw new Error(
      `gptFromTensors: tensor ${unexpected[0]} is not a parameter of ${config.name}` +
        (unexpected.length > 1 ? ` (nor are ${unexpected.length - 1} more)` : ""),
    );
  }
  for (const [name, shape] of shapes) {
    const t = tensors[name];
    if (!t) throw new Error(`gptFromTensors: missing tensor ${name} (expected [${shape}])`);
    if (t.shape.join() !== shape.join()) {
      throw new Error(
        `gptFromTensors: tensor ${name} has shape [${t.shape}], expected [${shape}] for ${config.name}`,
      );
    }
  }
  const v1 = (name: string) => tf.variable(tensors[name].toFloat()) as Variable1D;
  const v2 = (name: string) => tf.variable(tensors[name].toFloat()) as Variable2D;
  return tidyRecord(() => ({
    tokenEmbedding: v2("tokenEmbedding"),
    positionEmbedding: v2("positionEmbedding"),
    blocks: Array.from({ length: config.layers }, (_, i) => {
      const n = (s: string) => `blocks.${i}.${s}`;
      return {
        selfAttention: {
          heads: config.heads,
          Wq: v2(n("attention.Wq")),
          Wk: v2(n("attention.Wk")),
          Wv: v2(n("attention.Wv")),
          Wo: v2(n("attention.Wo")),
          bq: v1(n("attention.bq")),
          bk: v1(n("attention.bk")),
          bv: v1(n("attention.bv")),
          bo: v1(n("attention.bo")),
        },
        norm1: { gamma: v1(n("norm1.gamma")), beta: v1(n("norm1.beta")) },
        ffn: {
          W1: v2(n("ffn.W1")),
          b1: v1(n("ffn.b1")),
          W2: v2(n("ffn.W2")),
          b2: v1(n("ffn.b2")),
        },
        norm2: { gamma: v1(n("norm2.gamma")), beta: v1(n("norm2.beta")) },
      };
    }),
    finalNorm: config.norm === "pre"
      ? { gamma: v1("finalNorm.gamma"), beta: v1("finalNorm.beta") }
      : undefined,
    output: config.tiedOutput ? undefined : v2("output"),
  }));
}

/** Every trainable tensor of a GPT (each once), for an optimiser or a parameter count. */
export function gptParameters(p: GPTParams): Variable[] {
  return namedGPTParameters(p).map(([, v]) => v);
}

/** Frees every parameter of a GPT. */
export function disposeGPT(p: GPTParams): void {
  tf.dispose(gptParameters(p));
}

/** Options of {@link gptForward}. */
export interface GPTForwardOptions {
  /** Return every block's attention weights [B, h, T, T]. */
  trace?: boolean;
  /**
   * Training mode: apply dropout (rate `config.dropout`) with masks drawn from this seed to
   * the embeddings, the attention weights and each residual branch. Without it (or with
   * rate 0) dropout is the identity, as at inference.
   */
  dropoutSeed?: number;
  /**
   * A token table [V, d] to use in place of `p.tokenEmbedding` (input and tied output), e.g.
   * the pretrained Wₑ with fine-tuning's task-token rows swapped in.
   */
  tokenEmbedding?: Tensor2D;
  /** Also return the final hidden states hₙ [B, T, d] (after the final LayerNorm, if any). */
  hidden?: boolean;
}

/** The result of {@link gptForward}. */
export interface GPTOutput {
  /** Next-token logits [B, T, V]: row t scores the token after position t. */
  logits: Tensor;
  /** With `trace`: each block's attention weights [B, h, T, T], rows summing to 1. */
  attention?: Tensor[];
  /** With `hidden`: the final hidden states hₙ [B, T, d] that the output layer reads. */
  hidden?: Tensor;
}

/**
 * Inverted dropout: each value is kept with probability 1 − p and scaled by 1/(1 − p), or
 * set to 0, so E[dropout(x)] = x; the mask is drawn from `seed` (same seed, same mask).
 */
export function dropout(x: Tensor, rate: number, seed: number | string): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return x;
  return tf.tidy(() => {
    const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", seed), rate);
    return tf.mul(x, tf.div(keep.toFloat(), 1 - rate));
  });
}

/** Dropout with a fresh mask per call, all drawn from one seed; or the identity. */
function makeDropout(rate: number, seed: number | undefined): (x: Tensor) => Tensor {
  if (seed === undefined || rate === 0) return (x) => x;
  let call = 0;
  return (x) => dropout(x, rate, `${seed}/${call++}`);
}

/** [B, T, d_model] → [B, h, T, d_k]. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, d] = x.shape;
  return tf.transpose(x.reshape([B, T, heads, d / heads]), [0, 2, 1, 3]);
}

/** Keys and values of one block for the tokens so far, each [B, h, T, d_k]. */
interface PastKV {
  keys: Tensor;
  values: Tensor;
}

/**
 * The operations a block is made of. Training uses the fast-path kernels of kernels.ts
 * (hand-written gradients); generation uses plain tfjs ops (products on OpenBLAS when it is
 * loaded), which compute the same numbers and, with no gradient to record, skip
 * `tf.customGrad`'s fixed cost per call — what dominates when each step handles one token.
 */
interface BlockOps {
  /** y = xW + b on the last axis. */
  linear(x: Tensor, W: Tensor2D, b?: Tensor1D): Tensor;
  /** C[g] = A[g]·B[g] (or ·B[g]ᵀ) over the leading axes [B, h]. */
  matMul(a: Tensor, b: Tensor, transposeB: boolean): Tensor;
  /** LN(x) = γ ⊙ (x − μ)/√(σ² + ε) + β over the last axis. */
  layerNorm(p: LayerNormParams, x: Tensor): Tensor;
  /** FFN(x) = act(xW₁ + b₁)W₂ + b₂. */
  ffn(p: FeedForwardParams, x: Tensor, activation: Activation): Tensor;
  /** Softmax over the last axis. */
  softmax(x: Tensor): Tensor;
  /** logits = h·Wᵀ for h [N, d], W [V, d]. */
  matMulTransposed(h: Tensor2D, W: Tensor2D): Tensor2D;
}

const TRAINING_OPS: BlockOps = {
  linear,
  matMul(a, b, transposeB) {
    const lead = a.shape.slice(0, -2);
    const G = lead.reduce((x, y) => x * y, 1);
    const c = batchedMatMul(
      a.reshape([G, ...a.shape.slice(-2)]) as Tensor3D,
      b.reshape([G, ...b.shape.slice(-2)]) as Tensor3D,
      transposeB,
    );
    return c.reshape([...lead, ...c.shape.slice(-2)]);
  },
  layerNorm,
  ffn: feedForward,
  softmax: stableSoftmax,
  matMulTransposed: (h, W) => matMul2d(h, W, true),
};

const EPS = 1e-5;
const INV_SQRT2 = 1 / Math.SQRT2;

/**
 * C = A·B (or A·Bᵀ) over any leading axes, without a gradient: one `cblas_sgemm` per group
 * when OpenBLAS is loaded (blas.ts), otherwise `tf.matMul`.
 */
function plainProduct(a: Tensor, b: Tensor, transposeB: boolean): Tensor {
  return nativeBlas() ? nativeGemm(a, b, false, transposeB) : tf.matMul(a, b, false, transposeB);
}

function plainLinear(x: Tensor, W: Tensor2D, b?: Tensor1D): Tensor {
  const [inDim, out] = W.shape;
  const rows = x.reshape([-1, inDim]) as Tensor2D;
  const y = nativeBlas()
    ? nativeGemm(rows, W, false, false, b)
    : tf.fused.matMul({ a: rows, b: W, bias: b });
  return y.reshape([...x.shape.slice(0, -1), out]);
}

const GENERATION_OPS: BlockOps = {
  linear: plainLinear,
  matMul: plainProduct,
  layerNorm(p, x) {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), EPS));
    return tf.add(tf.mul(tf.mul(centred, rstd), p.gamma), p.beta);
  },
  ffn(p, x, activation) {
    const h = plainLinear(x, p.W1, p.b1);
    const act = activation === "gelu"
      ? tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, INV_SQRT2))))
      : activate(h, activation);
    return plainLinear(act, p.W2, p.b2);
  },
  softmax: (x) => tf.softmax(x),
  matMulTransposed: (h, W) => plainProduct(h, W, true) as Tensor2D,
};

/**
 * Masked multi-head self-attention of x [B, t, d_model] over the cached keys and values
 * followed by its own: K = [K_past; xW_k + b_k], V = [V_past; xW_v + b_v],
 * Z = softmax(QKᵀ/√d_k + M)·V, output = Concat(heads)·W_o + b_o.
 */
function causalSelfAttention(
  ops: BlockOps,
  p: MultiHeadParams,
  x: Tensor,
  past: PastKV | undefined,
  mask: Tensor | undefined,
  drop: (x: Tensor) => Tensor,
): { output: Tensor; weights: Tensor; keys: Tensor; values: Tensor } {
  const [B, t, d] = x.shape;
  const h = p.heads;
  const Q = splitHeads(ops.linear(x, p.Wq, p.bq), h);
  const kNew = splitHeads(ops.linear(x, p.Wk, p.bk), h);
  const vNew = splitHeads(ops.linear(x, p.Wv, p.bv), h);
  const keys = past ? tf.concat([past.keys, kNew], 2) : kNew;
  const values = past ? tf.concat([past.values, vNew], 2) : vNew;
  const scaled = tf.mul(ops.matMul(Q, keys, true), 1 / Math.sqrt(d / h));
  const weights = ops.softmax(mask ? tf.add(scaled, mask) : scaled);
  const z = ops.matMul(drop(weights), values, false);
  const concat = tf.transpose(z, [0, 2, 1, 3]).reshape([B, t, d]);
  return { output: ops.linear(concat, p.Wo, p.bo), weights, keys, values };
}

/**
 * One GPT block: the encoder block with the causal mask (and dropout on each residual
 * branch). Post-LN (GPT-1): x₁ = LN₁(x + Attn(x)), out = LN₂(x₁ + FFN(x₁)); pre-LN (GPT-2):
 * x₁ = x + Attn(LN₁(x)), out = x₁ + FFN(LN₂(x₁)).
 */
function gptBlock(
  ops: BlockOps,
  p: EncoderBlockParams,
  x: Tensor,
  config: GPTConfig,
  past: PastKV | undefined,
  mask: Tensor | undefined,
  drop: (x: Tensor) => Tensor,
): { output: Tensor; weights: Tensor; keys: Tensor; values: Tensor } {
  const pre = config.norm === "pre";
  const a = causalSelfAttention(
    ops,
    p.selfAttention,
    pre ? ops.layerNorm(p.norm1, x) : x,
    past,
    mask,
    drop,
  );
  const sum1 = tf.add(x, drop(a.output));
  const x1 = pre ? sum1 : ops.layerNorm(p.norm1, sum1);
  const f = ops.ffn(p.ffn, pre ? ops.layerNorm(p.norm2, x1) : x1, config.activation);
  const sum2 = tf.add(x1, drop(f));
  return { ...a, output: pre ? sum2 : ops.layerNorm(p.norm2, sum2) };
}

/** logits = LN_f(hₙ)·Wₑᵀ (tied) or ·W_out, for hₙ [B, T, d_model] → [B, T, V]. */
function outputLogits(
  ops: BlockOps,
  p: GPTParams,
  config: GPTConfig,
  x: Tensor,
  We: Tensor2D = p.tokenEmbedding,
): { logits: Tensor; hidden: Tensor } {
  const [B, T, d] = x.shape;
  const hidden = p.finalNorm ? ops.layerNorm(p.finalNorm, x) : x;
  const h = hidden.reshape([B * T, d]) as Tensor2D;
  const logits = p.output ? ops.linear(h, p.output) as Tensor2D : ops.matMulTransposed(h, We);
  return { logits: logits.reshape([B, T, config.vocabSize]), hidden };
}

function checkIds(ids: Tensor2D, fn: string): void {
  assertRank(ids, 2, `${fn}: ids`);
  if (ids.dtype !== "int32") throw new Error(`${fn}: ids must be int32, got ${ids.dtype}`);
  if (ids.shape[1] === 0) throw new Error(`${fn}: ids [${ids.shape}] hold no tokens`);
}

/** `tf.tidy` for records holding arrays of tensors (tfjs's types want index signatures). */

/**
 * The GPT forward pass for token ids [B, T] (int32, T ≤ n_ctx):
 *
 *   h₀ = UWₑ + Wₚ[0:T],  hₗ = block(hₗ₋₁) (causal),  logits = hₙWₑᵀ  → [B, T, V]
 *
 * (pre-LN applies the final layer norm to hₙ first), so softmax(logits[b, t]) = P(u_{t+1} ∣
 * u_{≤t}). With `trace`, also every block's attention weights [B, h, T, T]; with
 * `dropoutSeed`, dropout as in training. Throws when T exceeds the context length, naming
 * both.
 */
export function gptForward(
  p: GPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  opts: GPTForwardOptions = {},
): GPTOutput {
  checkIds(ids, "gptForward");
  const T = ids.shape[1];
  if (T > config.contextLength) {
    throw new Error(
      `gptForward: ${T} tokens exceed the context length ${config.contextLength}`,
    );
  }
  return tidyRecord(() => {
    const drop = makeDropout(config.dropout, opts.dropoutSeed);
    const We = opts.tokenEmbedding ?? p.tokenEmbedding;
    let x = drop(tf.add(embedTokens(We, ids), learnedPositions(p.positionEmbedding, T)));
    const mask = causalMask(T);
    const attention: Tensor[] = [];
    for (const block of p.blocks) {
      const r = gptBlock(TRAINING_OPS, block, x, config, undefined, mask, drop);
      x = r.output;
      attention.push(r.weights);
    }
    const { logits, hidden } = outputLogits(TRAINING_OPS, p, config, x, We);
    return {
      logits,
      ...(opts.trace ? { attention } : {}),
      ...(opts.hidden ? { hidden } : {}),
    };
  });
}

/**
 * The keys and values every block computed for the tokens read so far, for incremental
 * decoding with {@link gptForwardCached}. A cache belongs to one sequence batch; after a
 * {@link gptForwardCached} call, use the cache it returns (the old one's tensors are freed).
 */
export interface KVCache {
  /** Tokens read so far: the position of the next token. */
  readonly length: number;
  /** Sequences in the batch B. */
  readonly batch: number;
  /** Per block, the keys K [B, h, length, d_k] (empty until the first call). */
  readonly keys: readonly Tensor[];
  /** Per block, the values V [B, h, length, d_k] (empty until the first call). */
  readonly values: readonly Tensor[];
}

/** An empty cache for a batch of `batch` sequences (default 1). */
export function createKVCache(config: GPTConfig, batch = 1): KVCache {
  checkGPTConfig(config);
  if (!Number.isInteger(batch) || batch <= 0) {
    throw new Error(`createKVCache: batch must be a positive integer, got ${batch}`);
  }
  return { length: 0, batch, keys: [], values: [] };
}

/** Frees a cache's tensors. */
export function disposeKVCache(cache: KVCache): void {
  tf.dispose([...cache.keys, ...cache.values]);
}

/**
 * A cache holding only the sequences `rows` of `cache` (in that order, repeats allowed),
 * e.g. the surviving beams of beam search. Frees the old cache's tensors.
 */
export function selectKVCacheRows(cache: KVCache, rows: number[]): KVCache {
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= cache.batch) {
      throw new Error(`selectKVCacheRows: row ${r} is outside the batch [0, ${cache.batch})`);
    }
  }
  if (rows.length === 0) throw new Error("selectKVCacheRows: no rows given");
  const [keys, values] = tf.tidy(() => {
    const idx = tf.tensor1d(rows, "int32");
    return [cache.keys.map((k) => tf.gather(k, idx)), cache.values.map((v) => tf.gather(v, idx))];
  });
  disposeKVCache(cache);
  return { length: cache.length, batch: rows.length, keys, values };
}

/** The causal mask of t new queries at positions P … P+t−1 over P + t keys, [t, P + t]. */
function offsetCausalMask(past: number, t: number): Tensor2D {
  const Tk = past + t;
  const values = new Float32Array(t * Tk);
  for (let i = 0; i < t; i++) {
    for (let j = past + i + 1; j < Tk; j++) values[i * Tk + j] = MASKED;
  }
  return tf.tensor2d(values, [t, Tk]);
}

/**
 * Incremental decoding: the logits [B, t, V] of `t` new tokens ids [B, t] that follow the
 * `cache.length` tokens already read, equal to the last t rows of {@link gptForward} on the
 * whole sequence (inference: no dropout). Only the new positions are computed: each block
 * projects the new tokens to Q, K, V, appends K and V to its cache, and attends over all
 * of them; positions are numbered from `cache.length`. Returns the logits and the longer
 * cache; the given cache's tensors are freed. Throws when the total length exceeds the
 * context length or the batch differs from the cache's, naming both values.
 */
export function gptForwardCached(
  p: GPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  cache: KVCache,
): { logits: Tensor; cache: KVCache } {
  checkIds(ids, "gptForwardCached");
  const [B, t] = ids.shape;
  const past = cache.length;
  if (B !== cache.batch) {
    throw new Error(`gptForwardCached: ids have batch ${B} but the cache holds ${cache.batch}`);
  }
  if (past + t > config.contextLength) {
    throw new Error(
      `gptForwardCached: ${past} cached + ${t} new tokens = ${
        past + t
      } exceed the context length ${config.contextLength}`,
    );
  }
  if (past > 0 && cache.keys.length !== p.blocks.length) {
    throw new Error(
      `gptForwardCached: the cache holds ${cache.keys.length} blocks, the model has ${p.blocks.length}`,
    );
  }
  for (const id of ids.dataSync()) {
    if (id < 0 || id >= config.vocabSize) {
      throw new Error(
        `gptForwardCached: token id ${id} is outside the vocabulary [0, ${config.vocabSize})`,
      );
    }
  }
  const out = tidyRecord(() => {
    const d = config.dModel;
    // gather = picking row u of Wₑ, the same numbers as the one-hot product; generation
    // needs no gradient, and gather skips a [t, V] one-hot matrix
    let x = tf.add(
      tf.gather(p.tokenEmbedding, ids.reshape([-1])).reshape([B, t, d]),
      tf.slice(p.positionEmbedding, [past, 0], [t, d]),
    );
    const mask = t > 1 ? offsetCausalMask(past, t) : undefined;
    const keys: Tensor[] = [], values: Tensor[] = [];
    p.blocks.forEach((block, l) => {
      const kv = past > 0 ? { keys: cache.keys[l], values: cache.values[l] } : undefined;
      const r = gptBlock(GENERATION_OPS, block, x, config, kv, mask, (y) => y);
      x = r.output;
      keys.push(r.keys);
      values.push(r.values);
    });
    return { logits: outputLogits(GENERATION_OPS, p, config, x).logits, keys, values };
  });
  disposeKVCache(cache);
  return {
    logits: out.logits,
    cache: { length: past + t, batch: B, keys: out.keys, values: out.values },
  };
}

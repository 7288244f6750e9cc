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
 * The file reads top-down: the config, the forward pass {@link gptForward}, the KV cache of
 * generation ({@link gptForwardCached}), then the parameters, all derived from one table
 * ({@link gptParameterTable}). The block is lib/transformer.ts's `encoderBlock` (with
 * lib/attention.ts's one `multiHeadAttention`); the fast paths (OpenBLAS, fused bias, no
 * custom gradients when none is recorded) are chosen inside lib/kernels.ts.
 *
 * Generation re-runs the model once per new token. {@link gptForwardCached} keeps every
 * layer's keys and values ({@link KVCache}) so that each new token only computes its own
 * query, key and value: the logits are the same as a full re-forward, and a token costs one
 * position's work plus attention over the cached keys instead of re-running the whole text.
 *
 * A difference from the original code, on purpose: block weights start Glorot-scaled
 * rather than N(0, 0.02). The FFN's GELU is a config choice: the exact x·Φ(x) (`"gelu"`,
 * the default here, faster on wasm) or the tanh approximation GPT-1 and GPT-2 were trained
 * with (`"gelu_tanh"`, used when loading their weights; see lib/checkpoint.ts).
 *
 * Two config options serve GPT-3's chapter: `attention`, a pattern per layer — GPT-3's
 * "alternating dense and locally banded sparse attention patterns" (Brown et al. 2020, §2.1) —
 * and `feedForward: false`, the attention-only blocks in which Olsson et al. (2022) study
 * induction heads. Both default to the GPT-1/GPT-2 model and change no existing checkpoint.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Variable, Variable2D } from "./tf_types.ts";
import { assertModelSizes, checkIds, named, shapeText, tidyRecord } from "./tensor.ts";
import { embedTokens, learnedPositions } from "./embedding.ts";
import { causalMask, sparseAttentionMask, type SparsePattern } from "./attention.ts";
import {
  type Activation,
  checkActivation,
  deriveSeeds,
  linear,
  matMul2d,
  seededDropout,
} from "./kernels.ts";
import {
  type BlockParams,
  checkNormPlacement,
  encoderBlock,
  type EncoderBlockParams,
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
  /**
   * Whether each block has its feed-forward sublayer (default true). `false` gives an
   * attention-only Transformer (Elhage et al. 2021, "A Mathematical Framework for Transformer
   * Circuits"), the model in which Olsson et al. 2022 find induction heads; `dFF` is then unused.
   */
  feedForward?: boolean;
  /**
   * Each layer's attention pattern, one entry per layer (default: all `"dense"`): `"dense"` is
   * the causal mask; `{ kind: "local", window }` lets position i see only i − window + 1 … i
   * (lib/attention.ts's `sparseAttentionMask`). GPT-3 uses "alternating dense and locally banded
   * sparse attention patterns in the layers of the transformer, similar to the Sparse
   * Transformer" (Brown et al. 2020, §2.1; Child et al. 2019).
   */
  attention?: readonly GPTAttentionPattern[];
}

/**
 * One layer's attention pattern in {@link GPTConfig}: dense causal attention, or the local band
 * of the Sparse Transformer (Child et al. 2019, §4.2). Without a KV cache and without `trace` a
 * local layer computes only the band (`bandedAttention`, time and memory ∝ T·window); with a
 * cache, or when the weights are traced, it runs as dense attention under the mask
 * `sparseAttentionMask(t, pattern, past)` — the same numbers.
 */
export type GPTAttentionPattern = "dense" | Extract<SparsePattern, { kind: "local" }>;

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
 * The three larger GPT-2 models: GPT-2 small's architecture at 24 blocks of width 1,024 (16
 * heads), 36 of 1,280 (20 heads) and 48 of 1,600 (25 heads) — Radford et al. 2019, Table 2 (the
 * layers and widths; the heads are the released models' configurations). Counted by
 * {@link countGPTParameters}: 354,823,168, 774,030,080 and 1,557,611,200, the "355M", "774M" and
 * "1.5B" models (the paper's table says 345M, 762M and 1542M).
 */
export const GPT2_MEDIUM_CONFIG: Readonly<GPTConfig> = Object.freeze({
  ...GPT2_SMALL_CONFIG,
  name: "GPT-2 medium",
  layers: 24,
  heads: 16,
  dModel: 1024,
  dFF: 4096,
});
/** GPT-2 large (774M): 36 blocks of width 1,280, 20 heads; see {@link GPT2_MEDIUM_CONFIG}. */
export const GPT2_LARGE_CONFIG: Readonly<GPTConfig> = Object.freeze({
  ...GPT2_SMALL_CONFIG,
  name: "GPT-2 large",
  layers: 36,
  heads: 20,
  dModel: 1280,
  dFF: 5120,
});
/** GPT-2 XL (1.5B): 48 blocks of width 1,600, 25 heads; see {@link GPT2_MEDIUM_CONFIG}. */
export const GPT2_XL_CONFIG: Readonly<GPTConfig> = Object.freeze({
  ...GPT2_SMALL_CONFIG,
  name: "GPT-2 XL",
  layers: 48,
  heads: 25,
  dModel: 1600,
  dFF: 6400,
});

/**
 * GPT-3 175B ("davinci"): GPT-2's architecture (Brown et al. 2020, §2.1) at 96 blocks of width
 * 12,288 with 96 heads of 128 (Table 2.1) and a 2,048-token context; {@link countGPTParameters}
 * gives 174,604,259,328 (the paper's 175.0B). GPT-3's alternating sparse attention (§2.1)
 * changes which positions attend, not the weights.
 */
export const GPT3_175B_CONFIG: Readonly<GPTConfig> = Object.freeze({
  ...GPT2_SMALL_CONFIG,
  name: "GPT-3 175B",
  contextLength: 2048,
  layers: 96,
  heads: 96,
  dModel: 12288,
  dFF: 49152,
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
 * d_model divisible by h (naming both), dropout in [0, 1), a known activation and norm, a
 * boolean `feedForward`, and an `attention` list (when given) with one pattern per layer, each
 * `"dense"` or `{ kind: "local", window }` with an integer window ≥ 1.
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
  checkNormPlacement(config.norm, "GPTConfig");
  if (config.feedForward !== undefined && typeof config.feedForward !== "boolean") {
    throw new Error(`GPTConfig: feedForward must be true or false, got ${config.feedForward}`);
  }
  const patterns: unknown = config.attention;
  if (patterns === undefined) return;
  if (!Array.isArray(patterns) || patterns.length !== config.layers) {
    throw new Error(
      `GPTConfig: attention must list one pattern per layer (${config.layers}), got ${
        Array.isArray(patterns) ? `${patterns.length} patterns` : JSON.stringify(patterns)
      }`,
    );
  }
  patterns.forEach((a: unknown, l) => {
    if (a === "dense") return;
    const { kind, window } = (a ?? {}) as { kind?: unknown; window?: unknown };
    if (kind !== "local") {
      throw new Error(
        `GPTConfig: attention[${l}] must be "dense" or { kind: "local", window }, got ${
          JSON.stringify(a)
        }`,
      );
    }
    if (typeof window !== "number" || !Number.isInteger(window) || window < 1) {
      throw new Error(
        `GPTConfig: attention[${l}].window must be an integer ≥ 1, got ${String(window)}`,
      );
    }
  });
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
 * The parameters of a GPT: plain records of `tf.Variable`s. `Block` is the blocks' type: full
 * blocks (`EncoderBlockParams`, the default) or, for a config with `feedForward: false`,
 * attention-only ones; the functions here accept either (`GPTParams<BlockParams>`).
 */
export interface GPTParams<Block extends BlockParams = EncoderBlockParams> {
  /** Token embedding Wₑ ∈ ℝ^{V×d_model} (also the output layer when tied). */
  tokenEmbedding: Variable2D;
  /** Learned position table Wₚ ∈ ℝ^{n_ctx×d_model}. */
  positionEmbedding: Variable2D;
  /** The n blocks; each is an encoder block's parameters (run with the causal mask). */
  blocks: Block[];
  /** The final layer norm after the stack (pre-LN only). */
  finalNorm?: LayerNormParams;
  /** The untied output layer W_out ∈ ℝ^{d_model×V} (absent when tied; no bias, as GPT-2). */
  output?: Variable2D;
}

/**
 * A config of an attention-only GPT, typed so that {@link initGPT} and {@link gptFromTensors}
 * return blocks without `ffn` (a config whose `feedForward` is false only at run time is typed
 * as full blocks; declare it with this type).
 */
export type AttentionOnlyConfig = GPTConfig & { feedForward: false };

/** A GPT's parameters with any blocks, full or attention-only: what the functions here accept. */
export type AnyGPTParams = GPTParams<BlockParams>;

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
 * The GPT forward pass for token ids [B, T] (int32, T ≤ n_ctx):
 *
 *   h₀ = UWₑ + Wₚ[0:T],  hₗ = block(hₗ₋₁) (causal),  logits = hₙWₑᵀ  → [B, T, V]
 *
 * (pre-LN applies the final layer norm to hₙ first), so softmax(logits[b, t]) = P(u_{t+1} ∣
 * u_{≤t}). With `trace`, also every block's attention weights [B, h, T, T]; with
 * `dropoutSeed`, dropout as in training. Throws when T exceeds the context length, when
 * the parameters do not match the config (e.g. fewer blocks than `config.layers`), or on
 * an empty batch, naming both values.
 */
export function gptForward(
  p: AnyGPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  opts: GPTForwardOptions = {},
): GPTOutput {
  return named("gptForward", () => {
    checkGPTParams(p, config, "gptForward");
    checkIds(ids, "gptForward", { maxLength: config.contextLength });
    if (opts.tokenEmbedding) checkTokenTable(opts.tokenEmbedding, config, "gptForward");
    return tidyRecord(() => {
      const r = runGPT(p, config, ids, undefined, opts);
      return {
        logits: r.logits,
        ...(opts.trace ? { attention: r.attention } : {}),
        ...(opts.hidden ? { hidden: r.hidden } : {}),
      };
    });
  });
}

/** What {@link runGPT} computes: logits, hidden states, each block's weights, keys, values. */
interface GPTRun {
  logits: Tensor; // [B, t, V]
  hidden: Tensor; // [B, t, d]
  attention: Tensor[]; // per block [B, h, t, past + t] (a banded layer: the band's weights)
  keys: Tensor[]; // per block [B, h, past + t, d_k]
  values: Tensor[];
}

/**
 * The forward pass of t tokens ids [B, t] that follow `past.length` tokens already read
 * (none without a cache): positions start there, and each block attends over the cached
 * keys and values and the new ones. Every path — training, evaluation, generation — runs
 * through here; the kernels pick their fast path by whether a gradient is recorded.
 */
function runGPT(
  p: AnyGPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  past: KVCache | undefined,
  opts: Pick<GPTForwardOptions, "dropoutSeed" | "tokenEmbedding" | "trace">,
): GPTRun {
  const [B, t] = ids.shape;
  const start = past?.length ?? 0;
  const drop = seededDropout(config.dropout, opts.dropoutSeed);
  const We = opts.tokenEmbedding ?? p.tokenEmbedding;
  // h₀ = UWₑ + Wₚ[start : start + t]                                       [B, t, d]
  let x = drop(tf.add(embedTokens(We, ids), learnedPositions(p.positionEmbedding, t, start)));
  const dense = t > 1 ? causalMask(t, start) : undefined; // [t, start + t]
  const localMasks = new Map<number, Tensor>(); // window → sparseAttentionMask(t, local, start)
  const attention: Tensor[] = [], keys: Tensor[] = [], values: Tensor[] = [];
  p.blocks.forEach((block, l) => {
    const pattern = config.attention?.[l] ?? "dense";
    const local = pattern === "dense" ? undefined : pattern;
    // a local layer computes only the band unless a cache or the trace needs [t, start + t];
    // query blocks of at least 64 rows (at most t): fewer, larger products for short windows
    const band = local && start === 0 && !opts.trace
      ? { window: local.window, block: Math.min(t, Math.max(local.window, 64)) }
      : undefined;
    let mask: Tensor | undefined = band ? undefined : dense;
    if (local && !band) {
      if (!localMasks.has(local.window)) {
        localMasks.set(local.window, sparseAttentionMask(t, local, start));
      }
      mask = localMasks.get(local.window);
    }
    const r = encoderBlock(block, x, {
      norm: config.norm,
      activation: config.activation,
      mask,
      band,
      past: past && start > 0 ? { keys: past.keys[l], values: past.values[l] } : undefined,
      dropout: drop,
    });
    x = r.output; // hₗ                                                     [B, t, d]
    attention.push(r.trace.weights);
    keys.push(r.keys);
    values.push(r.values);
  });
  const hidden = p.finalNorm ? layerNorm(p.finalNorm, x) : x; // LN_f(hₙ) in pre-LN
  const rows = hidden.reshape([B * t, config.dModel]) as Tensor2D; // [B·t, d]
  const logits = p.output ? linear(rows, p.output) : matMul2d(rows, We, true); // [B·t, V]
  return { logits: logits.reshape([B, t, config.vocabSize]), hidden, attention, keys, values };
}

/** Parameters already checked against a config (the same config object, unchanged since). */
const checkedPairs = new WeakMap<AnyGPTParams, GPTConfig>();

/**
 * Throws unless the parameters have the config's shape: n blocks of h heads, Wₑ [V, d],
 * Wₚ [n_ctx, d], a final layer norm exactly when pre-LN and W_out exactly when untied.
 */
function checkGPTParams(p: AnyGPTParams, config: GPTConfig, fn: string): void {
  if (p.tokenEmbedding.isDisposed) {
    throw new Error(`${fn}: the parameters were already disposed (disposeGPT)`);
  }
  if (checkedPairs.get(p) === config) return;
  checkGPTConfig(config);
  const mismatch = (what: string) => {
    throw new Error(`${fn}: the parameters do not match the config ${config.name}: ${what}`);
  };
  if (p.blocks.length !== config.layers) {
    mismatch(`they have ${p.blocks.length} blocks, the config ${config.layers} layers`);
  }
  const { vocabSize: V, contextLength: n, dModel: d } = config;
  if (p.tokenEmbedding.shape.join() !== [V, d].join()) {
    mismatch(`Wₑ is ${shapeText(p.tokenEmbedding)}, expected [${V}, ${d}]`);
  }
  if (p.positionEmbedding.shape.join() !== [n, d].join()) {
    mismatch(`Wₚ is ${shapeText(p.positionEmbedding)}, expected [${n}, ${d}]`);
  }
  const ffn = config.feedForward !== false;
  const odd = p.blocks.findIndex((b) => !b.ffn === ffn);
  if (odd >= 0) {
    mismatch(
      `feedForward is ${ffn} but block ${odd} ${ffn ? "has no" : "has a"} feed-forward network`,
    );
  }
  if (p.blocks.some((b) => b.selfAttention.heads !== config.heads)) {
    mismatch(`a block has ${
      p.blocks.find((b) => b.selfAttention.heads !== config.heads)!
        .selfAttention.heads
    } heads, the config ${config.heads}`);
  }
  if (!p.finalNorm !== (config.norm === "post")) {
    mismatch(
      `norm is "${config.norm}" but the final layer norm is ${p.finalNorm ? "present" : "absent"}`,
    );
  }
  if (!p.output !== config.tiedOutput) {
    mismatch(`tiedOutput is ${config.tiedOutput} but W_out is ${p.output ? "present" : "absent"}`);
  }
  checkedPairs.set(p, config);
}

/** Throws unless a replacement token table is [V, d] for the config. */
function checkTokenTable(We: Tensor2D, config: GPTConfig, fn: string): void {
  if (We.shape.join() !== [config.vocabSize, config.dModel].join()) {
    throw new Error(
      `${fn}: tokenEmbedding ${
        shapeText(We)
      } must be [V, d] = [${config.vocabSize}, ${config.dModel}]`,
    );
  }
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

/**
 * Incremental decoding: the logits [B, t, V] of `t` new tokens ids [B, t] that follow the
 * `cache.length` tokens already read, equal to the last t rows of {@link gptForward} on the
 * whole sequence (inference: no dropout). Only the new positions are computed: each block
 * projects the new tokens to Q, K, V, appends K and V to its cache, and attends over all
 * of them; positions are numbered from `cache.length`. Returns the logits and the longer
 * cache; the given cache's tensors are freed, so passing it again is an error. Throws when
 * the total length exceeds the context length or the batch differs from the cache's,
 * naming both values.
 */
export function gptForwardCached(
  p: AnyGPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  cache: KVCache,
): { logits: Tensor; cache: KVCache } {
  return named("gptForwardCached", () => forwardCached(p, config, ids, cache));
}

function forwardCached(
  p: AnyGPTParams,
  config: GPTConfig,
  ids: Tensor2D,
  cache: KVCache,
): { logits: Tensor; cache: KVCache } {
  const fn = "gptForwardCached";
  checkGPTParams(p, config, fn);
  checkIds(ids, fn); // embedTokens checks the ids against the vocabulary
  const [B, t] = ids.shape;
  const past = cache.length;
  if (B !== cache.batch) {
    throw new Error(`${fn}: ids have batch ${B} but the cache holds ${cache.batch}`);
  }
  if (past + t > config.contextLength) {
    throw new Error(
      `${fn}: ${past} cached + ${t} new tokens = ${
        past + t
      } exceed the context length ${config.contextLength}`,
    );
  }
  if (past > 0 && cache.keys.length !== p.blocks.length) {
    throw new Error(
      `${fn}: the cache holds ${cache.keys.length} blocks, the model has ${p.blocks.length}`,
    );
  }
  if ([...cache.keys, ...cache.values].some((k) => k.isDisposed)) {
    throw new Error(
      `${fn}: this cache was already consumed by an earlier call (its tensors are freed): ` +
        `pass the cache that call returned`,
    );
  }
  const out = tidyRecord(() => {
    const r = runGPT(p, config, ids, cache, {});
    return { logits: r.logits, keys: r.keys, values: r.values };
  });
  disposeKVCache(cache);
  return {
    logits: out.logits,
    cache: { length: past + t, batch: B, keys: out.keys, values: out.values },
  };
}

/** How a parameter starts (each drawn from its own seed, see {@link GPTParameterSpec}). */
export type ParameterInit =
  | { kind: "normal"; std: number } // N(0, std²), GPT-1's embeddings
  | { kind: "glorot" } // N(0, 2/(in + out)), as initLinear in kernels.ts
  | { kind: "zeros" }
  | { kind: "ones" };

/** One parameter of a GPT: its checkpoint name, where it lives, its shape and its start. */
export interface GPTParameterSpec {
  /** The name checkpoints store it under, e.g. `blocks.0.attention.Wq`. */
  name: string;
  /** Its place in {@link GPTParams}, e.g. `["blocks", 0, "selfAttention", "Wq"]`. */
  path: readonly (string | number)[];
  /** Its shape. */
  shape: number[];
  /** How {@link initGPT} draws it. */
  init: ParameterInit;
  /**
   * How its seed derives from the model's: `[[n, i], …]` means seed ← deriveSeeds(seed, n)[i]
   * at each step (model → block i → its attention → W_q), so a block initialised alone
   * (`initEncoderBlock`) and inside a GPT start the same.
   */
  seedPath: readonly (readonly [number, number])[];
}

/** A block's parameters: checkpoint name, path in {@link EncoderBlockParams}, shape, init. */
function blockTable(
  d: number,
  dFF: number,
  feedForward: boolean,
): [string, string[], number[], ParameterInit, [number, number][]][] {
  const glorot: ParameterInit = { kind: "glorot" }, zeros: ParameterInit = { kind: "zeros" };
  const ones: ParameterInit = { kind: "ones" };
  // initEncoderBlock: [attention, ffn] = deriveSeeds(seed, 2); initMultiHead: [q, k, v, o]
  const attn = (
    w: string,
    j: number,
  ): [string, string[], number[], ParameterInit, [number, number][]] => [
    `attention.W${w}`,
    ["selfAttention", `W${w}`],
    [d, d],
    glorot,
    [[2, 0], [4, j]],
  ];
  const bias = (
    w: string,
  ): [string, string[], number[], ParameterInit, [number, number][]] => [
    `attention.b${w}`,
    ["selfAttention", `b${w}`],
    [d],
    zeros,
    [],
  ];
  return [
    attn("q", 0),
    attn("k", 1),
    attn("v", 2),
    attn("o", 3),
    bias("q"),
    bias("k"),
    bias("v"),
    bias("o"),
    ["norm1.gamma", ["norm1", "gamma"], [d], ones, []],
    ["norm1.beta", ["norm1", "beta"], [d], zeros, []],
    ...(feedForward
      ? [
        ["ffn.W1", ["ffn", "W1"], [d, dFF], glorot, [[2, 1], [2, 0]]],
        ["ffn.b1", ["ffn", "b1"], [dFF], zeros, []],
        ["ffn.W2", ["ffn", "W2"], [dFF, d], glorot, [[2, 1], [2, 1]]],
        ["ffn.b2", ["ffn", "b2"], [d], zeros, []],
        ["norm2.gamma", ["norm2", "gamma"], [d], ones, []],
        ["norm2.beta", ["norm2", "beta"], [d], zeros, []],
      ] satisfies [string, string[], number[], ParameterInit, [number, number][]][]
      : []),
  ];
}

/**
 * Every parameter of a GPT with this config, in checkpoint order: `tokenEmbedding`,
 * `positionEmbedding`, `blocks.{i}.attention.{Wq,Wk,Wv,Wo,bq,bk,bv,bo}`,
 * `blocks.{i}.norm1.{gamma,beta}`, `blocks.{i}.ffn.{W1,b1,W2,b2}`,
 * `blocks.{i}.norm2.{gamma,beta}`, `finalNorm.{gamma,beta}` (pre-LN), `output` (untied); an
 * attention-only config (`feedForward: false`) has no `ffn` and `norm2` entries.
 * Names, shapes, initialisation, loading and counting all derive from this one table.
 */
export function gptParameterTable(config: GPTConfig): GPTParameterSpec[] {
  checkGPTConfig(config);
  const { vocabSize: V, contextLength: n, dModel: d, dFF, layers } = config;
  const top = 3 + layers; // initGPT: [Wₑ, Wₚ, W_out, block 0, …, block n−1]
  const normal: ParameterInit = { kind: "normal", std: 0.02 };
  const table: GPTParameterSpec[] = [
    {
      name: "tokenEmbedding",
      path: ["tokenEmbedding"],
      shape: [V, d],
      init: normal,
      seedPath: [[top, 0]],
    },
    {
      name: "positionEmbedding",
      path: ["positionEmbedding"],
      shape: [n, d],
      init: normal,
      seedPath: [[top, 1]],
    },
  ];
  for (let i = 0; i < layers; i++) {
    for (const [name, path, shape, init, seeds] of blockTable(d, dFF, config.feedForward ?? true)) {
      table.push({
        name: `blocks.${i}.${name}`,
        path: ["blocks", i, ...path],
        shape,
        init,
        seedPath: seeds.length > 0 ? [[top, 3 + i], ...seeds] : [],
      });
    }
  }
  if (config.norm === "pre") {
    table.push(
      {
        name: "finalNorm.gamma",
        path: ["finalNorm", "gamma"],
        shape: [d],
        init: { kind: "ones" },
        seedPath: [],
      },
      {
        name: "finalNorm.beta",
        path: ["finalNorm", "beta"],
        shape: [d],
        init: { kind: "zeros" },
        seedPath: [],
      },
    );
  }
  if (!config.tiedOutput) {
    table.push({
      name: "output",
      path: ["output"],
      shape: [d, V],
      init: normal,
      seedPath: [[top, 2]],
    });
  }
  return table;
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
 * An attention-only config (`feedForward: false`) drops the FFN's and its layer norm's
 * 2·d·d_ff + d_ff + 3d per block. The attention pattern changes no count.
 *
 * GPT-1: 116,534,784; GPT-2 small: 124,439,808. (The sum of {@link gptParameterTable}'s
 * sizes; the tests check it against this formula written out independently.)
 */
export function countGPTParameters(config: GPTConfig): number {
  return gptParameterTable(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** The shape every named parameter of a GPT with this config has, in checkpoint order. */
export function gptParameterShapes(config: GPTConfig): [string, number[]][] {
  return gptParameterTable(config).map((s) => [s.name, s.shape]);
}

/** A parameter's starting values, drawn from its own seed. */
function initialValue(spec: GPTParameterSpec, seed: number): Tensor {
  const s = spec.seedPath.reduce((x, [n, i]) => deriveSeeds(x, n)[i], seed);
  const { init, shape } = spec;
  if (init.kind === "zeros") return tf.zeros(shape);
  if (init.kind === "ones") return tf.ones(shape);
  const std = init.kind === "normal" ? init.std : Math.sqrt(2 / (shape[0] + shape[1]));
  return tf.randomNormal(shape, 0, std, "float32", s);
}

/** The record {@link GPTParams} with `value(spec)` at each parameter's path. */
function assembleGPT(
  config: GPTConfig,
  value: (spec: GPTParameterSpec) => Variable,
): AnyGPTParams {
  const root: Record<string | number, unknown> = {
    blocks: Array.from(
      { length: config.layers },
      () => ({ selfAttention: { heads: config.heads } }),
    ),
  };
  for (const spec of gptParameterTable(config)) {
    let node = root;
    for (const key of spec.path.slice(0, -1)) {
      node = (node[key] ??= {}) as Record<string | number, unknown>;
    }
    node[spec.path[spec.path.length - 1]] = value(spec);
  }
  return root as unknown as AnyGPTParams;
}

/**
 * A fresh GPT, reproducible from `seed`: Wₑ, Wₚ (and W_out) from N(0, 0.02²) as in GPT-1,
 * block weights Glorot-scaled (as `initEncoderBlock`), zero biases, γ = 1, β = 0; see
 * {@link gptParameterTable}. A config typed with `feedForward: false` gives attention-only
 * blocks ({@link AttentionOnlyConfig}).
 */
export function initGPT(config: AttentionOnlyConfig, seed: number): GPTParams<BlockParams>;
/** A fresh GPT with full blocks (see above). */
export function initGPT(config: GPTConfig, seed: number): GPTParams;
export function initGPT(config: GPTConfig, seed: number): AnyGPTParams {
  checkGPTConfig(config);
  return tidyRecord(() => assembleGPT(config, (spec) => tf.variable(initialValue(spec, seed))));
}

/**
 * Builds a GPT's parameters from tensors keyed by the names of {@link gptParameterTable}
 * (each becomes a new `tf.Variable`; the given tensors stay the caller's). Throws naming
 * the tensor when one is missing, has the wrong shape, or is not expected by the config.
 */
export function gptFromTensors(
  config: AttentionOnlyConfig,
  tensors: Record<string, Tensor>,
): GPTParams<BlockParams>;
/** A GPT with full blocks from named tensors (see above). */
export function gptFromTensors(config: GPTConfig, tensors: Record<string, Tensor>): GPTParams;
export function gptFromTensors(
  config: GPTConfig,
  tensors: Record<string, Tensor>,
): AnyGPTParams {
  const table = gptParameterTable(config);
  const expected = new Set(table.map((s) => s.name));
  const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
  if (unexpected.length > 0) {
    throw new Error(
      `gptFromTensors: tensor ${unexpected[0]} is not a parameter of ${config.name}` +
        (unexpected.length > 1 ? ` (nor are ${unexpected.length - 1} more)` : ""),
    );
  }
  for (const { name, shape } of table) {
    const t = tensors[name];
    if (!t) throw new Error(`gptFromTensors: missing tensor ${name} (expected [${shape}])`);
    if (t.shape.join() !== shape.join()) {
      throw new Error(
        `gptFromTensors: tensor ${name} has shape [${t.shape}], expected [${shape}] for ${config.name}`,
      );
    }
  }
  return tidyRecord(() => assembleGPT(config, (s) => tf.variable(tensors[s.name].toFloat())));
}

/**
 * Every parameter with its name, in {@link gptParameterTable}'s order. Checkpoints store
 * tensors under these names.
 */
export function namedGPTParameters(p: AnyGPTParams): [string, Variable][] {
  const [V, d] = p.tokenEmbedding.shape;
  const layout = {
    name: "GPT",
    vocabSize: V,
    contextLength: p.positionEmbedding.shape[0],
    layers: p.blocks.length,
    heads: p.blocks[0]?.selfAttention.heads ?? 1,
    dModel: d,
    dFF: p.blocks[0]?.ffn?.W1.shape[1] ?? d,
    activation: "gelu",
    dropout: 0,
    norm: p.finalNorm ? "pre" : "post",
    tiedOutput: !p.output,
    feedForward: !p.blocks[0] || p.blocks[0].ffn !== undefined,
  } satisfies GPTConfig;
  return gptParameterTable(layout).map((s) => {
    const v = s.path.reduce(
      (node: unknown, key) => (node as Record<string | number, unknown>)[key],
      p,
    );
    return [s.name, v as Variable];
  });
}

/** Every trainable tensor of a GPT (each once), for an optimiser or a parameter count. */
export function gptParameters(p: AnyGPTParams): Variable[] {
  return namedGPTParameters(p).map(([, v]) => v);
}

/** Frees every parameter of a GPT. */
export function disposeGPT(p: AnyGPTParams): void {
  tf.dispose(gptParameters(p));
}

/**
 * The Transformer of "Attention Is All You Need": layer norm, the position-wise
 * feed-forward network, encoder and decoder blocks with residual connections, and the
 * encoder–decoder model with its teacher-forced loss and greedy decoding.
 *
 *   encoder block (post-LN): x ← LN(x + MultiHead(x, x, x));  x ← LN(x + FFN(x))
 *   decoder block (post-LN): x ← LN(x + MaskedMultiHead(x, x, x))
 *                            x ← LN(x + MultiHead(x, memory, memory));  x ← LN(x + FFN(x))
 *
 * Every forward pass returns a trace of its intermediate tensors (and attention weights)
 * so that a chapter can print shapes and draw heatmaps. Parameters are plain records of
 * `tf.Variable`s; the forward passes are functions of them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Variable, Variable1D, Variable2D } from "./tf_types.ts";
import { assertModelSizes, checkIds, named, tidyRecord } from "./tensor.ts";
import {
  embedTokens,
  initEmbedding,
  learnedPositions,
  sinusoidalPositionalEncoding,
} from "./embedding.ts";
import {
  causalMask,
  combineMasks,
  initMultiHead,
  multiHeadAttention,
  type MultiHeadOptions,
  multiHeadParameters,
  type MultiHeadParams,
  type MultiHeadResult,
  paddingMask,
  type PastKeysValues,
} from "./attention.ts";
import {
  activate,
  type Activation,
  checkActivation,
  deriveSeeds,
  initLinear,
  layerNormCore,
  linear,
  type LinearParams,
  matMul2d,
} from "./kernels.ts";

// ---------------------------------------------------------------------------------------
// Layer norm and the feed-forward network
// ---------------------------------------------------------------------------------------

/** The learned scale γ and shift β of a layer norm, each [d]. */
export interface LayerNormParams {
  /** Scale γ, initialised to 1. */
  gamma: Variable1D;
  /** Shift β, initialised to 0. */
  beta: Variable1D;
}

/** A fresh layer norm for width d: γ = 1, β = 0 (so it starts as pure normalisation). */
export function initLayerNorm(d: number): LayerNormParams {
  if (!Number.isInteger(d) || d <= 0) {
    throw new Error(`initLayerNorm: d must be a positive integer, got ${d}`);
  }
  // tidy frees the starting tensors; the variables keep their own copies
  return tf.tidy(() => ({
    gamma: tf.variable(tf.ones([d])) as Variable1D,
    beta: tf.variable(tf.zeros([d])) as Variable1D,
  }));
}

/**
 * Layer normalisation of each position's vector (the last axis):
 * LN(x) = γ ⊙ (x − μ)/√(σ² + ε) + β, with μ and σ² the mean and variance of that vector.
 */
export function layerNorm(p: LayerNormParams, x: Tensor, eps = 1e-5): Tensor {
  return layerNormCore(x, p.gamma, p.beta, eps);
}

/** The position-wise feed-forward network's parameters: W₁ [d, d_ff], b₁, W₂ [d_ff, d], b₂. */
export interface FeedForwardParams {
  /** Expansion W₁ ∈ ℝ^{d_model×d_ff}. */
  W1: Variable2D;
  /** Expansion bias b₁ ∈ ℝ^{d_ff}. */
  b1: Variable1D;
  /** Projection back W₂ ∈ ℝ^{d_ff×d_model}. */
  W2: Variable2D;
  /** Projection bias b₂ ∈ ℝ^{d_model}. */
  b2: Variable1D;
}

/**
 * A fresh feed-forward network d_model → d_ff → d_model (d_ff = 4·d_model unless given;
 * pass `undefined` for the default), Glorot-scaled weights and zero biases, reproducible
 * from `seed`.
 */
export function initFeedForward(
  dModel: number,
  dFF: number = 4 * dModel,
  seed: number,
): FeedForwardParams {
  const [s1, s2] = deriveSeeds(seed, 2);
  const up = initLinear(dModel, dFF, s1), down = initLinear(dFF, dModel, s2);
  return { W1: up.W, b1: up.b, W2: down.W, b2: down.b };
}

/**
 * The position-wise feed-forward network, applied to every position alone:
 * FFN(x) = act(xW₁ + b₁)W₂ + b₂, with act = ReLU (max(0, ·), the original) or GELU.
 * x [..., d_model] → [..., d_model].
 */
export function feedForward(
  p: FeedForwardParams,
  x: Tensor,
  activation: Activation = "relu",
): Tensor {
  checkActivation(activation, "feedForward");
  return named("feedForward", () =>
    tidyRecord(() => {
      const act = activate(linear(x, p.W1, p.b1), activation);
      return linear(act, p.W2, p.b2);
    }));
}

/** Every trainable tensor of a feed-forward network. */
export function feedForwardParameters(p: FeedForwardParams): Variable[] {
  return [p.W1, p.b1, p.W2, p.b2];
}

// ---------------------------------------------------------------------------------------
// Residual connections and the blocks
// ---------------------------------------------------------------------------------------

/**
 * Where the layer norm goes around each sublayer:
 * - `"post"`: x ← LN(x + Sublayer(x)), as in Vaswani et al. and GPT-1;
 * - `"pre"`: x ← x + Sublayer(LN(x)), as in GPT-2 (and a final LN after the stack).
 */
export type NormPlacement = "post" | "pre";

/** Options shared by the encoder and decoder blocks. */
export interface BlockOptions {
  /** Layer norm placement (default `"post"`, the original). */
  norm?: NormPlacement;
  /** The FFN's nonlinearity (default `"relu"`, the original). */
  activation?: Activation;
  /**
   * Dropout, applied to the attention weights and to each sublayer's output before the
   * residual sum (training only; see `seededDropout` in kernels.ts). Default: none.
   */
  dropout?: (x: Tensor) => Tensor;
}

/** Every {@link NormPlacement}. */
const NORM_PLACEMENTS: readonly NormPlacement[] = ["post", "pre"];

/** Throws unless `norm` is a {@link NormPlacement}, naming the allowed values. */
export function checkNormPlacement(norm: unknown, fn: string): asserts norm is NormPlacement {
  if (!NORM_PLACEMENTS.includes(norm as NormPlacement)) {
    throw new Error(`${fn}: norm must be "post" or "pre", got ${JSON.stringify(norm)}`);
  }
}

/** A sublayer of a block: its layer norm and the function it applies. */
interface Sublayer {
  norm: LayerNormParams;
  apply: (h: Tensor) => Tensor;
}

/**
 * The residual stack every block is made of: each sublayer in turn, with its layer norm
 * in either placement and dropout on the sublayer's output,
 *
 *   post-LN: x ← LN(x + drop(Sublayer(x)))      pre-LN: x ← x + drop(Sublayer(LN(x)))
 *
 * Returns each sublayer's own output (`subs`) and the residual stream after it (`outs`).
 */
function residualStack(
  x: Tensor,
  sublayers: readonly Sublayer[],
  placement: NormPlacement,
  drop: (x: Tensor) => Tensor,
): { subs: Tensor[]; outs: Tensor[] } {
  const subs: Tensor[] = [], outs: Tensor[] = [];
  for (const { norm, apply } of sublayers) {
    const sub = apply(placement === "pre" ? layerNorm(norm, x) : x);
    const sum = tf.add(x, drop(sub));
    x = placement === "pre" ? sum : layerNorm(norm, sum);
    subs.push(sub);
    outs.push(x);
  }
  return { subs, outs };
}

/** Reads and checks a block's options: the placement, the activation, dropout. */
function blockOptions(opts: BlockOptions, fn: string) {
  const { norm = "post", activation = "relu", dropout = (x: Tensor) => x } = opts;
  checkNormPlacement(norm, fn);
  checkActivation(activation, fn);
  return { norm, activation, dropout };
}

/**
 * The parameters of a self-attention block, with or without its feed-forward sublayer.
 * Without `ffn` (and `norm2`) it is an attention-only block, x ← x + Attn(LN(x)) (pre-LN) —
 * the "attention-only transformer" of Elhage et al. 2021 ("A Mathematical Framework for
 * Transformer Circuits", §"Transformer Overview"), in which Olsson et al. 2022 ("In-context
 * Learning and Induction Heads", §2) first study induction heads.
 */
export interface BlockParams {
  /** Multi-head self-attention. */
  selfAttention: MultiHeadParams;
  /** The layer norm around the attention sublayer. */
  norm1: LayerNormParams;
  /** The position-wise feed-forward network (absent in an attention-only block). */
  ffn?: FeedForwardParams;
  /** The layer norm around the FFN sublayer (present exactly when `ffn` is). */
  norm2?: LayerNormParams;
}

/** The parameters of one encoder block: attention and the feed-forward network. */
export interface EncoderBlockParams extends BlockParams {
  /** The position-wise feed-forward network. */
  ffn: FeedForwardParams;
  /** The layer norm around the FFN sublayer. */
  norm2: LayerNormParams;
}

/** What a {@link BlockParams} block computed, every tensor [B, T, d_model] except the weights. */
export interface BlockTrace {
  /** The block's input x. */
  input: Tensor;
  /** MultiHead(x, x, x) (of LN(x) in pre-LN). */
  attentionOutput: Tensor;
  /** After Add & Norm: LN(x + attention) (post-LN) or x + attention (pre-LN). */
  afterAttention: Tensor;
  /** FFN of the above (of its LN in pre-LN); absent in an attention-only block. */
  ffnOutput?: Tensor;
  /** The block's output, after the last Add & Norm. */
  output: Tensor;
  /**
   * Self-attention weights [B, h, T, T_k] (with the `band` option: the band's weights, see
   * `multiHeadAttention` in lib/attention.ts).
   */
  weights: Tensor;
}

/** What one encoder block computed, every tensor [B, T, d_model] except the weights. */
export interface EncoderBlockTrace extends BlockTrace {
  /** FFN of the above (of its LN in pre-LN). */
  ffnOutput: Tensor;
}

/** A fresh encoder block: self-attention (h heads), two layer norms, an FFN of width d_ff. */
export function initEncoderBlock(
  dModel: number,
  heads: number,
  dFF: number,
  seed: number,
): EncoderBlockParams {
  const [sa, sf] = deriveSeeds(seed, 2);
  return {
    selfAttention: initMultiHead(dModel, heads, sa),
    norm1: initLayerNorm(dModel),
    ffn: initFeedForward(dModel, dFF, sf),
    norm2: initLayerNorm(dModel),
  };
}

/** The result of {@link encoderBlock} on a {@link BlockParams} block. */
export interface BlockResult {
  /** The block's output [B, T, d_model]. */
  output: Tensor;
  /** What the block computed along the way. */
  trace: BlockTrace;
  /** Self-attention's keys [B, h, T_k, d_k] (the past ones and the new): the next KV cache. */
  keys: Tensor;
  /** Self-attention's values [B, h, T_k, d_k]. */
  values: Tensor;
}

/** The result of {@link encoderBlock}. */
export interface EncoderBlockResult extends BlockResult {
  /** What the block computed along the way. */
  trace: EncoderBlockTrace;
  /** Self-attention's keys [B, h, T_k, d_k] (the past ones and the new): the next KV cache. */
  keys: Tensor;
  /** Self-attention's values [B, h, T_k, d_k]. */
  values: Tensor;
}

/** Options of {@link encoderBlock}. */
export interface EncoderBlockOptions extends BlockOptions {
  /** An additive mask over the scores (padding, causal, sparse). */
  mask?: Tensor;
  /** A KV cache's keys and values of earlier tokens. */
  past?: PastKeysValues;
  /** Local attention computing only the band (see `multiHeadAttention`'s `band`). */
  band?: MultiHeadOptions["band"];
}

/**
 * One encoder block on x [B, T, d_model] (post-LN shown; see {@link NormPlacement}):
 *
 *   a = MultiHead(x, x, x; mask),  x₁ = LN(x + a),  f = FFN(x₁),  output = LN(x₁ + f)
 *
 * The optional `mask` (a padding mask [B, 1, 1, T] in the encoder, the causal mask in a
 * GPT) keeps attention off padding or off the future. The GPT is this block with the
 * causal mask; with `past` (a KV cache's keys and values for earlier tokens) it reads only
 * the new tokens x and attends over past and new keys, as generation does; with `band`, its
 * attention is local and computes only the band. An attention-only block (no `ffn`, see
 * {@link BlockParams}) stops after x₁: output = x₁.
 *
 * Throws naming the allowed values when `norm` or `activation` is not one of them.
 */
export function encoderBlock(
  p: EncoderBlockParams,
  x: Tensor,
  opts?: EncoderBlockOptions,
): EncoderBlockResult;
/** An attention-only or full block (see {@link BlockParams}). */
export function encoderBlock(p: BlockParams, x: Tensor, opts?: EncoderBlockOptions): BlockResult;
export function encoderBlock(
  p: BlockParams,
  x: Tensor,
  opts: EncoderBlockOptions = {},
): BlockResult {
  const { norm, activation, dropout } = blockOptions(opts, "encoderBlock");
  if (!p.ffn !== !p.norm2) {
    throw new Error(
      `encoderBlock: a block has both ffn and norm2 or neither (attention-only), got ` +
        `ffn ${p.ffn ? "present" : "absent"} and norm2 ${p.norm2 ? "present" : "absent"}`,
    );
  }
  return named("encoderBlock", () =>
    tidyRecord(() => {
      let attention: MultiHeadResult | undefined;
      const sublayers: Sublayer[] = [{
        norm: p.norm1,
        apply: (h) => {
          attention = multiHeadAttention(p.selfAttention, h, h, {
            mask: opts.mask,
            past: opts.past,
            band: opts.band,
            dropout,
          });
          return attention.output;
        },
      }];
      const { ffn, norm2 } = p;
      if (ffn && norm2) {
        sublayers.push({ norm: norm2, apply: (h) => feedForward(ffn, h, activation) });
      }
      const { subs, outs } = residualStack(x, sublayers, norm, dropout);
      const { weights, keys, values } = attention!;
      const output = outs[outs.length - 1];
      return {
        output,
        trace: {
          input: x,
          attentionOutput: subs[0],
          afterAttention: outs[0],
          ...(subs.length > 1 ? { ffnOutput: subs[1] } : {}),
          output,
          weights,
        },
        keys,
        values,
      };
    }));
}

/** Every trainable tensor of an encoder block (of an attention-only block: no FFN's). */
export function encoderBlockParameters(p: BlockParams): Variable[] {
  return [
    ...multiHeadParameters(p.selfAttention),
    p.norm1.gamma,
    p.norm1.beta,
    ...(p.ffn && p.norm2 ? [...feedForwardParameters(p.ffn), p.norm2.gamma, p.norm2.beta] : []),
  ];
}

/** The parameters of one decoder block. */
export interface DecoderBlockParams {
  /** Masked multi-head self-attention over the target so far. */
  selfAttention: MultiHeadParams;
  /** The layer norm around self-attention. */
  norm1: LayerNormParams;
  /** Cross-attention: Q from the decoder, K and V from the encoder's output. */
  crossAttention: MultiHeadParams;
  /** The layer norm around cross-attention. */
  norm2: LayerNormParams;
  /** The position-wise feed-forward network. */
  ffn: FeedForwardParams;
  /** The layer norm around the FFN. */
  norm3: LayerNormParams;
}

/** What one decoder block computed ([B, T, d_model] unless stated). */
export interface DecoderBlockTrace {
  /** The block's input x. */
  input: Tensor;
  /** Masked self-attention's output. */
  selfAttentionOutput: Tensor;
  /** The residual stream after self-attention's Add & Norm. */
  afterSelfAttention: Tensor;
  /** Cross-attention's output. */
  crossAttentionOutput: Tensor;
  /** The residual stream after cross-attention's Add & Norm. */
  afterCrossAttention: Tensor;
  /** The FFN's output. */
  ffnOutput: Tensor;
  /** The block's output. */
  output: Tensor;
  /** Masked self-attention weights [B, h, T, T]. */
  selfWeights: Tensor;
  /** Cross-attention weights [B, h, T, S]: each target position over the source. */
  crossWeights: Tensor;
}

/** A fresh decoder block: self-attention, cross-attention, FFN, three layer norms. */
export function initDecoderBlock(
  dModel: number,
  heads: number,
  dFF: number,
  seed: number,
): DecoderBlockParams {
  const [ss, sc, sf] = deriveSeeds(seed, 3);
  return {
    selfAttention: initMultiHead(dModel, heads, ss),
    norm1: initLayerNorm(dModel),
    crossAttention: initMultiHead(dModel, heads, sc),
    norm2: initLayerNorm(dModel),
    ffn: initFeedForward(dModel, dFF, sf),
    norm3: initLayerNorm(dModel),
  };
}

/**
 * One decoder block on the target so far x [B, T, d_model] and the encoder's output
 * `memory` [B, S, d_model] (post-LN shown):
 *
 *   s = MultiHead(x, x, x; selfMask),  x₁ = LN(x + s)         (masked self-attention)
 *   c = MultiHead(x₁, memory, memory; memoryMask),  x₂ = LN(x₁ + c)   (cross-attention)
 *   f = FFN(x₂),  output = LN(x₂ + f)
 *
 * `selfMask` is normally the causal mask (with target padding); `memoryMask` the source
 * padding mask.
 */
export function decoderBlock(
  p: DecoderBlockParams,
  x: Tensor,
  memory: Tensor,
  opts: BlockOptions & { selfMask?: Tensor; memoryMask?: Tensor } = {},
): { output: Tensor; trace: DecoderBlockTrace } {
  const { norm, activation, dropout } = blockOptions(opts, "decoderBlock");
  return named("decoderBlock", () =>
    tidyRecord(() => {
      let selfWeights: Tensor | undefined, crossWeights: Tensor | undefined;
      const { subs, outs } = residualStack(
        x,
        [
          {
            norm: p.norm1,
            apply: (h) => {
              const r = multiHeadAttention(p.selfAttention, h, h, { mask: opts.selfMask, dropout });
              selfWeights = r.weights;
              return r.output;
            },
          },
          {
            norm: p.norm2,
            apply: (h) => {
              const r = multiHeadAttention(p.crossAttention, h, memory, {
                mask: opts.memoryMask,
                dropout,
              });
              crossWeights = r.weights;
              return r.output;
            },
          },
          { norm: p.norm3, apply: (h) => feedForward(p.ffn, h, activation) },
        ],
        norm,
        dropout,
      );
      return {
        output: outs[2],
        trace: {
          input: x,
          selfAttentionOutput: subs[0],
          afterSelfAttention: outs[0],
          crossAttentionOutput: subs[1],
          afterCrossAttention: outs[1],
          ffnOutput: subs[2],
          output: outs[2],
          selfWeights: selfWeights!,
          crossWeights: crossWeights!,
        },
      };
    }));
}

/** Every trainable tensor of a decoder block. */
export function decoderBlockParameters(p: DecoderBlockParams): Variable[] {
  return [
    ...multiHeadParameters(p.selfAttention),
    p.norm1.gamma,
    p.norm1.beta,
    ...multiHeadParameters(p.crossAttention),
    p.norm2.gamma,
    p.norm2.beta,
    ...feedForwardParameters(p.ffn),
    p.norm3.gamma,
    p.norm3.beta,
  ];
}

// ---------------------------------------------------------------------------------------
// The encoder–decoder model
// ---------------------------------------------------------------------------------------

/** The size and shape of an encoder–decoder Transformer. */
export interface Seq2SeqConfig {
  /** Source vocabulary size. */
  srcVocabSize: number;
  /** Target vocabulary size. */
  tgtVocabSize: number;
  /** One embedding matrix for source and target (the sizes must then be equal). */
  sharedVocab: boolean;
  /** Model width d_model. */
  dModel: number;
  /** Attention heads h (d_model must be divisible by h). */
  heads: number;
  /** FFN inner width d_ff (4·d_model in the paper). */
  dFF: number;
  /** Number of encoder blocks N. */
  encoderLayers: number;
  /** Number of decoder blocks N. */
  decoderLayers: number;
  /** The longest source or target sequence the model accepts. */
  maxLen: number;
  /** Layer norm placement. */
  norm: NormPlacement;
  /** The FFN's nonlinearity. */
  activation: Activation;
  /** Fixed sinusoidal positions (Vaswani) or a learned table Wₚ (GPT). */
  positions: "sinusoidal" | "learned";
  /** Use the target embedding as the output layer, logits = h·Wₑᵀ (default false). */
  tieOutput?: boolean;
}

/** The parameters of the encoder–decoder model. */
export interface Seq2SeqParams {
  /** Source token embedding Wₑ [V_src, d_model]. */
  srcEmbedding: Variable2D;
  /** Target token embedding [V_tgt, d_model]; the same Variable as the source's when shared. */
  tgtEmbedding: Variable2D;
  /** The learned position table Wₚ [maxLen, d_model] (absent for sinusoidal positions). */
  positions?: Variable2D;
  /** The encoder blocks. */
  encoder: EncoderBlockParams[];
  /** The decoder blocks. */
  decoder: DecoderBlockParams[];
  /** Final layer norm after the encoder stack (pre-LN only). */
  encoderNorm?: LayerNormParams;
  /** Final layer norm after the decoder stack (pre-LN only). */
  decoderNorm?: LayerNormParams;
  /** The output layer to target-vocabulary logits (absent when tied to the embedding). */
  output?: LinearParams;
}

function checkConfig(cfg: Seq2SeqConfig): void {
  assertModelSizes("Seq2SeqConfig", cfg, [
    "srcVocabSize",
    "tgtVocabSize",
    "dModel",
    "heads",
    "dFF",
    "encoderLayers",
    "decoderLayers",
    "maxLen",
  ]);
  if (cfg.sharedVocab && cfg.srcVocabSize !== cfg.tgtVocabSize) {
    throw new Error(
      `Seq2SeqConfig: a shared vocabulary needs equal sizes, got srcVocabSize ${cfg.srcVocabSize} and tgtVocabSize ${cfg.tgtVocabSize}`,
    );
  }
}

/**
 * A fresh encoder–decoder Transformer, reproducible from `seed`. Token embeddings are drawn
 * from N(0, 1/d_model) and multiplied by √d_model in the forward pass (as in the paper), so
 * token vectors start with unit-size entries, like the sinusoidal positions.
 */
export function initSeq2Seq(cfg: Seq2SeqConfig, seed: number): Seq2SeqParams {
  checkConfig(cfg);
  const { dModel: d, heads, dFF } = cfg;
  const s = deriveSeeds(seed, 4 + cfg.encoderLayers + cfg.decoderLayers);
  const std = 1 / Math.sqrt(d);
  const srcEmbedding = initEmbedding(cfg.srcVocabSize, d, s[0], std);
  const tgtEmbedding = cfg.sharedVocab
    ? srcEmbedding
    : initEmbedding(cfg.tgtVocabSize, d, s[1], std);
  const pre = cfg.norm === "pre";
  return {
    srcEmbedding,
    tgtEmbedding,
    positions: cfg.positions === "learned" ? initEmbedding(cfg.maxLen, d, s[2], 1) : undefined,
    encoder: Array.from(
      { length: cfg.encoderLayers },
      (_, i) => initEncoderBlock(d, heads, dFF, s[4 + i]),
    ),
    decoder: Array.from(
      { length: cfg.decoderLayers },
      (_, i) => initDecoderBlock(d, heads, dFF, s[4 + cfg.encoderLayers + i]),
    ),
    encoderNorm: pre ? initLayerNorm(d) : undefined,
    decoderNorm: pre ? initLayerNorm(d) : undefined,
    output: cfg.tieOutput ? undefined : initLinear(d, cfg.tgtVocabSize, s[3]),
  };
}

/** Every trainable tensor of the model, each once (a shared embedding appears once). */
export function seq2seqParameters(p: Seq2SeqParams): Variable[] {
  const all: (Variable | undefined)[] = [
    p.srcEmbedding,
    p.tgtEmbedding,
    p.positions,
    ...p.encoder.flatMap(encoderBlockParameters),
    ...p.decoder.flatMap(decoderBlockParameters),
    p.encoderNorm?.gamma,
    p.encoderNorm?.beta,
    p.decoderNorm?.gamma,
    p.decoderNorm?.beta,
    p.output?.W,
    p.output?.b,
  ];
  return [...new Set(all.filter((v): v is Variable => v !== undefined))];
}

/** The number of trainable numbers in `vars` (a Variable listed twice counts once). */
export function countParameters(vars: Variable[]): number {
  return [...new Set(vars)].reduce((n, v) => n + v.size, 0);
}

/**
 * `tf.tidy` for results holding traces: tfjs keeps every tensor nested in the returned
 * record, but its types only accept records with index signatures.
 */

/** h₀ = √d_model · UWₑ + P for ids [B, T]: token embeddings plus positions. */
function embedSequence(p: Seq2SeqParams, cfg: Seq2SeqConfig, We: Tensor2D, ids: Tensor): Tensor {
  const T = ids.shape[1]!;
  return tf.tidy(() => {
    const pos = p.positions
      ? learnedPositions(p.positions, T)
      : sinusoidalPositionalEncoding(T, cfg.dModel);
    return tf.add(tf.mul(embedTokens(We, ids), Math.sqrt(cfg.dModel)), pos);
  });
}

/**
 * The encoder: memory = Encoderᴺ(√d·UWₑ + P) for source ids [B, S] (int32), with padding
 * (`padId`) masked out of every self-attention. Returns the memory [B, S, d_model] and each
 * block's trace.
 */
export function seq2seqEncode(
  p: Seq2SeqParams,
  cfg: Seq2SeqConfig,
  src: Tensor2D,
  opts: { padId: number },
): { memory: Tensor; trace: EncoderBlockTrace[] } {
  checkIds(src, "seq2seqEncode: src", { maxLength: cfg.maxLen, lengthName: "model's maxLen" });
  return tidyRecord(() => {
    const mask = paddingMask(src, opts.padId);
    const trace: EncoderBlockTrace[] = [];
    let x = embedSequence(p, cfg, p.srcEmbedding, src);
    for (const block of p.encoder) {
      const r = encoderBlock(block, x, { norm: cfg.norm, activation: cfg.activation, mask });
      trace.push(r.trace);
      x = r.output;
    }
    const memory = p.encoderNorm ? layerNorm(p.encoderNorm, x) : x;
    return { memory, trace };
  });
}

/**
 * The decoder and output layer: logits [B, T, V_tgt] for the target so far `tgtIn` [B, T]
 * given the encoder's `memory` for source ids `src` [B, S]. Self-attention is causal (and
 * skips target padding); cross-attention skips source padding. logits = h_N·W_out + b (or
 * h_N·Wₑᵀ when tied).
 */
export function seq2seqDecode(
  p: Seq2SeqParams,
  cfg: Seq2SeqConfig,
  memory: Tensor,
  src: Tensor2D,
  tgtIn: Tensor2D,
  opts: { padId: number },
): { logits: Tensor; trace: DecoderBlockTrace[] } {
  checkIds(tgtIn, "seq2seqDecode: tgtIn", { maxLength: cfg.maxLen, lengthName: "model's maxLen" });
  if (tgtIn.shape[0] !== src.shape[0]) {
    throw new Error(
      `seq2seqDecode: tgtIn [${tgtIn.shape.join(", ")}] and src [${
        src.shape.join(", ")
      }] have different batch sizes`,
    );
  }
  const [B, T] = tgtIn.shape;
  return tidyRecord(() => {
    const selfMask = combineMasks(causalMask(T), paddingMask(tgtIn, opts.padId));
    const memoryMask = paddingMask(src, opts.padId);
    const trace: DecoderBlockTrace[] = [];
    let x = embedSequence(p, cfg, p.tgtEmbedding, tgtIn);
    for (const block of p.decoder) {
      const r = decoderBlock(block, x, memory, {
        norm: cfg.norm,
        activation: cfg.activation,
        selfMask,
        memoryMask,
      });
      trace.push(r.trace);
      x = r.output;
    }
    const h = p.decoderNorm ? layerNorm(p.decoderNorm, x) : x;
    const logits = p.output
      ? linear(h, p.output.W, p.output.b)
      : matMul2d(h.reshape([B * T, cfg.dModel]) as Tensor2D, p.tgtEmbedding, true)
        .reshape([B, T, cfg.tgtVocabSize]);
    return { logits, trace };
  });
}

/**
 * The whole model with teacher forcing: source ids `src` [B, S] and the shifted target
 * `tgtIn` [B, T] (starting with ⟨s⟩) → next-token logits [B, T, V_tgt], with every block's
 * trace. Padding (`padId`) is masked on source and target keys; the decoder is causal.
 */
export function seq2seqForward(
  p: Seq2SeqParams,
  cfg: Seq2SeqConfig,
  src: Tensor2D,
  tgtIn: Tensor2D,
  opts: { padId: number },
): { logits: Tensor; trace: { encoder: EncoderBlockTrace[]; decoder: DecoderBlockTrace[] } } {
  return tidyRecord(() => {
    const enc = seq2seqEncode(p, cfg, src, opts);
    const dec = seq2seqDecode(p, cfg, enc.memory, src, tgtIn, opts);
    return { logits: dec.logits, trace: { encoder: enc.trace, decoder: dec.trace } };
  });
}

/** One step of {@link greedyDecode}. */
export interface DecodeStep {
  /** The decoder's input at this step: ⟨s⟩ and the tokens chosen so far. */
  inputIds: number[];
  /** The most probable next tokens, most probable first. */
  candidates: { id: number; prob: number }[];
  /** The token chosen (the most probable). */
  chosen: number;
  /** Cross-attention of the newest position in the last decoder block, [heads][srcLen]. */
  crossAttention: number[][];
}

/**
 * Greedy decoding: encode `srcIds` once, then start the target with ⟨s⟩ (`bosId`) and
 * repeatedly append the most probable next token, y_t = argmax P(y ∣ src, y_{<t}), until
 * `eosId` is chosen or `maxLen` tokens were produced. Returns the produced ids (without
 * ⟨s⟩ and the final ⟨/s⟩) and a trace of every step: the input so far, the `topK`
 * (default 5) candidates with probabilities, the choice and the cross-attention row.
 */
export function greedyDecode(
  p: Seq2SeqParams,
  cfg: Seq2SeqConfig,
  srcIds: number[],
  opts: { bosId: number; eosId: number; padId: number; maxLen: number; topK?: number },
): { ids: number[]; steps: DecodeStep[] } {
  if (srcIds.length === 0) throw new Error("greedyDecode: empty source");
  if (!Number.isInteger(opts.maxLen) || opts.maxLen <= 0 || opts.maxLen > cfg.maxLen) {
    throw new Error(
      `greedyDecode: maxLen must be an integer in [1, ${cfg.maxLen}] (the model's maxLen), got ${opts.maxLen}`,
    );
  }
  const topK = Math.min(opts.topK ?? 5, cfg.tgtVocabSize);
  const src = tf.tensor2d([srcIds], [1, srcIds.length], "int32");
  const memory = tf.tidy(() => seq2seqEncode(p, cfg, src, opts).memory);
  const input = [opts.bosId];
  const steps: DecodeStep[] = [];
  for (let t = 0; t < opts.maxLen; t++) {
    const T = input.length;
    const [probs, cross] = tf.tidy(() => {
      const tgt = tf.tensor2d([input], [1, T], "int32");
      const { logits, trace } = seq2seqDecode(p, cfg, memory, src, tgt, opts);
      const last = tf.softmax(tf.slice(logits, [0, T - 1, 0], [1, 1, -1]).reshape([-1]));
      const weights = trace[trace.length - 1].crossWeights;
      const row = tf.slice(weights, [0, 0, T - 1, 0], [1, -1, 1, -1]);
      return [last, row.reshape([cfg.heads, srcIds.length])];
    });
    const pv = Array.from(probs.dataSync());
    const crossAttention = cross.arraySync() as number[][];
    tf.dispose([probs, cross]);
    const candidates = pv.map((prob, id) => ({ id, prob }))
      .sort((a, b) => b.prob - a.prob)
      .slice(0, topK);
    const chosen = candidates[0].id;
    steps.push({ inputIds: input.slice(), candidates, chosen, crossAttention });
    if (chosen === opts.eosId) break;
    input.push(chosen);
  }
  tf.dispose([src, memory]);
  return { ids: input.slice(1), steps };
}

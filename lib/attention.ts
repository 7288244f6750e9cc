/**
 * 注意力机制: scaled dot-product attention, its masks, and multi-head attention.
 *
 *   Attention(Q, K, V) = softmax(QKᵀ/√d_k + M)·V
 *
 * Q, K, V are the queries, keys and values (Q = XW_q, K = XW_k, V = XW_v); M is an additive
 * mask, 0 where a query may look and a large negative number ({@link MASKED}) where it may
 * not, so that exp(score + M) is 0 there. Multi-head attention runs h such attentions on
 * d_k = d_model/h wide slices and mixes their outputs with W_o.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Variable, Variable1D, Variable2D } from "./tf_types.ts";
import { assertRank, checkAllocation, named, shapeText, tidyRecord } from "./tensor.ts";
import {
  batchedMatMul,
  checkFloat,
  deriveSeeds,
  initLinear,
  linear,
  stableSoftmax,
} from "./kernels.ts";

/**
 * The additive mask value for a blocked position: −10⁹ stands in for −∞. Added to a
 * score, it makes exp(score − max) underflow to exactly 0, and unlike −∞ it never turns a
 * fully masked row into NaN (the row becomes uniform instead).
 */
export const MASKED: number = -1e9;

/**
 * Additive masks this module built (causal, padding, combined): their values are known to
 * be 0 or {@link MASKED}, so {@link checkMask} need not read them back.
 */
const builtMasks = new WeakSet<Tensor>();

function built<T extends Tensor>(mask: T): T {
  builtMasks.add(mask);
  return mask;
}

/**
 * The causal (look-ahead) mask of a decoder, [T, past + T]: the T new queries stand at
 * positions past … past + T − 1 and may attend to every key up to their own position.
 * M[i][j] = 0 for j ≤ past + i and {@link MASKED} after it, so a position never sees the
 * tokens after it. With `past` = 0 (the default) it is the square [T, T] mask; with keys
 * cached from `past` earlier tokens it is the mask of incremental decoding.
 */
export function causalMask(T: number, past = 0): Tensor2D {
  if (!Number.isInteger(T) || T <= 0) {
    throw new Error(`causalMask: T must be a positive integer, got ${T}`);
  }
  if (!Number.isInteger(past) || past < 0) {
    throw new Error(`causalMask: past must be a non-negative integer, got ${past}`);
  }
  const Tk = past + T;
  checkAllocation("causalMask", "the mask", [T, Tk]);
  const values = new Float32Array(T * Tk);
  for (let i = 0; i < T; i++) {
    for (let j = past + i + 1; j < Tk; j++) values[i * Tk + j] = MASKED;
  }
  return built(tf.tensor2d(values, [T, Tk]));
}

/**
 * The sparse attention patterns of the Sparse Transformer (Child et al. 2019, §4.2 and
 * Figure 3), which GPT-3 alternates with dense layers (Brown et al. 2020, §2.1). Each is a
 * set of keys j that query i may see, always with j ≤ i:
 * - `local`: i − j < window (a band along the diagonal);
 * - `strided`: i − j < stride, or (i − j) mod stride = 0 (the last `stride` positions, and every
 *   `stride`-th position before them);
 * - `fixed`: ⌊j/stride⌋ = ⌊i/stride⌋ (the query's own block), or j mod stride ≥ stride − c (the last
 *   c positions of every block, which summarise it).
 */
export type SparsePattern =
  | { kind: "local"; window: number }
  | { kind: "strided"; stride: number }
  | { kind: "fixed"; stride: number; c: number };

/**
 * The additive mask [T, past + T] of a {@link SparsePattern}, with the convention of
 * {@link causalMask}: M[i][j] = 0 where query i may see key j and {@link MASKED} elsewhere,
 * always causal. With `past` = 0 (the default) it is the square [T, T] mask; with keys cached
 * from `past` earlier tokens, the T new queries stand at positions past … past + T − 1 and the
 * pattern is applied to those absolute positions (query past + i, key j), as in incremental
 * decoding. Throws on a bad pattern (window or stride < 1, non-integers, c outside 1…stride)
 * or a bad `past`, naming the field.
 */
export function sparseAttentionMask(T: number, pattern: SparsePattern, past = 0): Tensor2D {
  const fn = "sparseAttentionMask";
  if (!Number.isInteger(T) || T <= 0) {
    throw new Error(`${fn}: T must be a positive integer, got ${T}`);
  }
  if (!Number.isInteger(past) || past < 0) {
    throw new Error(`${fn}: past must be a non-negative integer, got ${past}`);
  }
  const positive = (name: string, value: unknown): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new Error(`${fn}: ${name} must be an integer ≥ 1, got ${String(value)}`);
    }
    return value;
  };
  const kind = (pattern as { kind?: unknown } | null)?.kind;
  let allowed: (i: number, j: number) => boolean;
  if (kind === "local") {
    const window = positive("window", pattern.kind === "local" && pattern.window);
    allowed = (i, j) => i - j < window;
  } else if (kind === "strided") {
    const stride = positive("stride", pattern.kind === "strided" && pattern.stride);
    allowed = (i, j) => i - j < stride || (i - j) % stride === 0;
  } else if (kind === "fixed") {
    const { stride: l, c: cc } = pattern as { stride: unknown; c: unknown };
    const stride = positive("stride", l);
    const c = positive("c", cc);
    if (c > stride) throw new Error(`${fn}: c (${c}) must be at most stride (${stride})`);
    allowed = (i, j) =>
      Math.floor(j / stride) === Math.floor(i / stride) || j % stride >= stride - c;
  } else {
    throw new Error(
      `${fn}: pattern.kind must be "local", "strided" or "fixed", got ${JSON.stringify(kind)}`,
    );
  }
  const Tk = past + T;
  checkAllocation(fn, "the mask", [T, Tk]);
  const values = new Float32Array(T * Tk);
  for (let r = 0; r < T; r++) {
    const i = past + r;
    for (let j = 0; j < Tk; j++) if (j > i || !allowed(i, j)) values[r * Tk + j] = MASKED;
  }
  return built(tf.tensor2d(values, [T, Tk]));
}

/**
 * The padding mask of a batch of token ids [B, T] (int32): {@link MASKED} for every key
 * position holding `padId`, 0 elsewhere, shaped [B, 1, 1, T] so that it broadcasts over
 * heads and query positions of scores [B, h, T_q, T].
 */
export function paddingMask(ids: Tensor2D, padId: number): Tensor {
  assertRank(ids, 2, "paddingMask: ids");
  if (ids.dtype !== "int32") {
    throw new Error(`paddingMask: ids must be int32, got ${ids.dtype}`);
  }
  const [B, T] = ids.shape;
  return built(
    tf.tidy(() =>
      tf.where(tf.equal(ids, padId), tf.fill([B, T], MASKED), tf.zeros([B, T])).reshape([
        B,
        1,
        1,
        T,
      ])
    ),
  );
}

/**
 * Combines additive masks by a broadcasting sum, M = max(M₁ + M₂ + …, {@link MASKED}):
 * a position blocked by any mask stays blocked, and blocked twice is still exactly
 * MASKED (the sum is clipped so it cannot grow towards −∞).
 */
export function combineMasks(...masks: Tensor[]): Tensor {
  if (masks.length === 0) throw new Error("combineMasks: no masks given");
  masks.forEach((m, i) => checkMaskValues(m, `combineMasks: mask ${i}`));
  masks.reduce((shape, m) => {
    try {
      return tf.backend_util.assertAndGetBroadcastShape(shape, m.shape);
    } catch {
      throw new Error(
        `combineMasks: masks ${shapeText(shape)} and ${shapeText(m)} do not broadcast together`,
      );
    }
  }, masks[0].shape);
  return built(tf.tidy(() => tf.maximum(masks.reduce((sum, m) => tf.add(sum, m)), MASKED)));
}

/** The result of {@link scaledDotProductAttention}. */
export interface AttentionResult {
  /** Z = softmax(QKᵀ/√d_k + M)·V, shape [..., T_q, d_v]. */
  output: Tensor;
  /** The attention weights softmax(QKᵀ/√d_k + M), [..., T_q, T_k]; each row sums to 1. */
  weights: Tensor;
  /** The scores before softmax, QKᵀ/√d_k + M, [..., T_q, T_k]. */
  scores: Tensor;
}

/**
 * Throws unless `mask` is an additive mask: float32, every value ≤ 0 (0 = may look,
 * {@link MASKED} = blocked). A 0/1 or boolean mask (1 = may look) added to the scores would
 * leave the future visible; the error says to convert it with {@link additiveMask}. Masks
 * built here are trusted; another mask is read back once.
 */
function checkMaskValues(mask: Tensor, where: string): void {
  if (builtMasks.has(mask)) return;
  if (mask.dtype !== "float32") {
    throw new Error(
      `${where}: mask ${shapeText(mask)} is ${mask.dtype}; attention takes an additive float32 ` +
        `mask (0 = may look, MASKED = blocked): convert a 0/1 or boolean mask with additiveMask`,
    );
  }
  const values = mask.dataSync();
  for (const v of values) {
    if (!(v <= 0)) {
      throw new Error(
        `${where}: mask ${shapeText(mask)} holds ${v}; an additive mask holds only 0 (may look) ` +
          `and negative values such as MASKED (blocked): convert a 0/1 mask with additiveMask`,
      );
    }
  }
  builtMasks.add(mask);
}

/** Throws unless `mask` is additive and broadcasts against scores of shape `target`. */
function checkMask(mask: Tensor, target: readonly number[], where: string): void {
  const offset = target.length - mask.rank;
  const ok = offset >= 0 &&
    mask.shape.every((d, i) => d === 1 || d === target[offset + i]);
  if (!ok) {
    throw new Error(
      `${where}: mask ${shapeText(mask)} does not broadcast against scores ${shapeText(target)}`,
    );
  }
  checkMaskValues(mask, where);
}

/**
 * The additive mask of a 0/1 or boolean mask M (1 or true = may look):
 * (1 − M)·{@link MASKED}, ready to add to attention scores.
 */
export function additiveMask(mask01: Tensor): Tensor {
  return built(tf.tidy(() => tf.mul(tf.sub(1, mask01.toFloat()), MASKED)));
}

/** Options of {@link scaledDotProductAttention} and {@link multiHeadAttention}. */
export interface AttentionOptions {
  /** An additive mask M broadcasting against the scores [..., T_q, T_k]. */
  mask?: Tensor;
  /** Dropout on the attention weights before they mix the values (training only). */
  dropout?: (weights: Tensor) => Tensor;
}

/**
 * Throws unless q [..., T_q, d_k], k [..., T_k, d_k], v [..., T_k, d_v] fit each other
 * and `mask` is an additive mask broadcasting against the scores [..., T_q, T_k].
 */
function checkAttentionInputs(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | undefined,
  fn = "scaledDotProductAttention",
): void {
  if (q.rank < 2 || k.rank !== q.rank || v.rank !== q.rank) {
    throw new Error(
      `${fn}: q ${shapeText(q)}, k ${shapeText(k)} and v ${shapeText(v)} ` +
        `must have the same rank ≥ 2 ([..., T, d])`,
    );
  }
  checkFloat(fn, [["q", q], ["k", k], ["v", v]]);
  const lead = q.shape.slice(0, -2);
  const [Tq, dk] = q.shape.slice(-2);
  const [Tk, dkK] = k.shape.slice(-2);
  const TkV = v.shape[v.rank - 2];
  if (k.shape.slice(0, -2).join() !== lead.join() || dkK !== dk) {
    throw new Error(
      `${fn}: q ${shapeText(q)} and k ${shapeText(k)} do not fit ` +
        `(expected k [${[...lead, "T_k", dk].join(", ")}])`,
    );
  }
  if (v.shape.slice(0, -2).join() !== lead.join() || TkV !== Tk) {
    throw new Error(
      `${fn}: k ${shapeText(k)} and v ${shapeText(v)} do not fit ` +
        `(expected v [${[...lead, Tk, "d_v"].join(", ")}])`,
    );
  }
  if (q.size === 0 || k.size === 0) {
    throw new Error(`${fn}: q ${shapeText(q)} or k ${shapeText(k)} is empty`);
  }
  if (mask) checkMask(mask, [...lead, Tq, Tk], fn);
}

/**
 * Scaled dot-product attention, Z = softmax(QKᵀ/√d_k + M)·V, for any leading batch or
 * head dimensions: q [..., T_q, d_k], k [..., T_k, d_k], v [..., T_k, d_v] → output
 * [..., T_q, d_v]. The optional additive `mask` (see {@link causalMask},
 * {@link paddingMask}) must broadcast against the scores [..., T_q, T_k]; a 0/1 or boolean
 * mask is refused (see {@link additiveMask}).
 *
 * Numerically stable: the softmax subtracts each row's maximum, so scores of ±10⁴ give no
 * NaN or Infinity. The products run as {@link batchedMatMul}.
 *
 * Throws when the shapes do not fit, naming both shapes.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): AttentionResult {
  checkAttentionInputs(q, k, v, opts.mask);
  const { mask, dropout = (w: Tensor) => w } = opts;
  return tidyRecord(() => {
    const dk = q.shape[q.rank - 1];
    const scaled = tf.mul(batchedMatMul(q, k, true), 1 / Math.sqrt(dk)); // [..., T_q, T_k]
    const scores = mask ? tf.add(scaled, mask) : scaled;
    const weights = stableSoftmax(scores);
    const output = batchedMatMul(dropout(weights), v); // [..., T_q, d_v]
    return { output, weights, scores };
  });
}

/**
 * Scaled dot-product attention under the local pattern (see {@link sparseAttentionMask}) that
 * computes only the band: query i sees keys max(0, i − window + 1)…i. The queries are cut into
 * blocks of `block` rows; each block is multiplied only with the `block + window − 1` keys it may
 * see, so time and memory grow as T·(block + window)·d instead of T²·d (the blocked layout of
 * Child et al. 2019, §5.5). Equal to {@link scaledDotProductAttention} with the local mask, for
 * any T (the last block is padded and the padding dropped). q, k, v: [..., T, d] with the same T.
 * Returns the output [..., T, d_v]; differentiable.
 */
export function bandedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: BandOptions,
): Tensor {
  return tf.tidy(() => {
    const { output, weights } = bandedCore(q, k, v, opts);
    weights.dispose();
    return output;
  });
}

/** The band of {@link bandedAttention}: its width and the query block size. */
export interface BandOptions {
  /** The local window: query i sees keys i − window + 1 … i. */
  window: number;
  /** Queries per block (default `window`). */
  block?: number;
  /** Dropout on the band's attention weights before they mix V (training only). */
  dropout?: (weights: Tensor) => Tensor;
}

/**
 * {@link bandedAttention}'s computation, returning the output and the band's weights
 * [..., ⌈T/block⌉, block, block + window − 1]: row r of block b is query b·block + r, column p
 * key b·block + p − window + 1 (keys outside the band get weight 0; rows of queries past T are
 * padding).
 */
function bandedCore(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: BandOptions,
): { output: Tensor; weights: Tensor } {
  const fn = "bandedAttention";
  checkAttentionInputs(q, k, v, undefined, fn);
  const { window, block = window, dropout = (w: Tensor) => w } = opts;
  for (const [name, value] of [["window", window], ["block", block]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${fn}: ${name} must be an integer ≥ 1, got ${value}`);
    }
  }
  const T = q.shape[q.rank - 2];
  if (k.shape[k.rank - 2] !== T) {
    throw new Error(`${fn}: q ${shapeText(q)} and k ${shapeText(k)} must have the same T`);
  }
  const lead = q.shape.slice(0, -2);
  const nb = Math.ceil(T / block);
  const span = block + window - 1; // the keys one block of queries may see
  // mask[r][p]: query r of a block against key p of its span, key position j = start + p − (w−1).
  const maskValues = new Float32Array(nb * block * span);
  for (let b = 0; b < nb; b++) {
    for (let r = 0; r < block; r++) {
      for (let p = 0; p < span; p++) {
        const i = b * block + r, j = b * block + p - (window - 1);
        const ok = j >= 0 && j <= i && i - j < window;
        if (!ok) maskValues[(b * block + r) * span + p] = MASKED;
      }
    }
  }
  return tidyRecord(() => {
    const axis = q.rank - 2;
    const padding = (before: number, after: number) =>
      q.shape.map((_, a) => (a === axis ? [before, after] : [0, 0]) as [number, number]);
    const extra = nb * block - T;
    const blocks = (x: Tensor) => {
      const padded = tf.pad(x, padding(window - 1, extra));
      const windows = Array.from(
        { length: nb },
        (_, b) =>
          tf.slice(padded, q.shape.map((_, a) => (a === axis ? b * block : 0)), [
            ...lead,
            span,
            x.shape[x.rank - 1],
          ]),
      );
      return tf.stack(windows, axis); // [..., nb, span, d]
    };
    const qBlocks = tf.pad(q, padding(0, extra)).reshape([...lead, nb, block, q.shape[axis + 1]]);
    const dk = q.shape[q.rank - 1];
    const scores = tf.add(
      tf.mul(batchedMatMul(qBlocks, blocks(k), true), 1 / Math.sqrt(dk)),
      tf.tensor3d(maskValues, [nb, block, span]),
    ); // [..., nb, block, span]
    const weights = stableSoftmax(scores);
    const out = batchedMatMul(dropout(weights), blocks(v)); // [..., nb, block, d_v]
    const dv = v.shape[v.rank - 1];
    const output = tf.slice(out.reshape([...lead, nb * block, dv]), q.shape.map(() => 0), [
      ...lead,
      T,
      dv,
    ]);
    return { output, weights };
  });
}

function check01Pair(scores: Tensor2D, mask01: Tensor2D, fn: string): void {
  assertRank(scores, 2, `${fn}: scores`);
  if (mask01.shape.join() !== scores.shape.join()) {
    throw new Error(
      `${fn}: mask ${shapeText(mask01)} and scores ${shapeText(scores)} differ in shape`,
    );
  }
}

/**
 * The article's multiplicative mask — **wrong, kept to show why**: softmax(S ⊙ M) with M
 * a 0/1 matrix (1 = may look). Multiplying a score by 0 makes it 0, not −∞, and
 * exp(0) = 1, so every "masked" position still receives weight — as much as a position
 * whose score really is 0. A decoder trained this way peeks at future tokens. Compare
 * {@link additiveMaskWeights}.
 */
export function multiplicativeMaskWeights(scores: Tensor2D, mask01: Tensor2D): Tensor2D {
  check01Pair(scores, mask01, "multiplicativeMaskWeights");
  return tf.tidy(() => stableSoftmax(tf.mul(scores, mask01))) as Tensor2D;
}

/**
 * The additive mask that works, from the same 0/1 matrix M (1 = may look):
 * softmax(S + (1 − M)·{@link MASKED}). Blocked positions get weight exp(−10⁹) = 0 and each
 * row's weight is shared among the allowed positions only.
 */
export function additiveMaskWeights(scores: Tensor2D, mask01: Tensor2D): Tensor2D {
  check01Pair(scores, mask01, "additiveMaskWeights");
  return tf.tidy(() => stableSoftmax(tf.add(scores, additiveMask(mask01)))) as Tensor2D;
}

/** The parameters of multi-head attention: the projections W_q, W_k, W_v, W_o and biases. */
export interface MultiHeadParams {
  /** The number of heads h; each works on d_k = d_model/h columns. */
  heads: number;
  /** Query projection W_q ∈ ℝ^{d_model×d_model} (all heads side by side). */
  Wq: Variable2D;
  /** Key projection W_k ∈ ℝ^{d_model×d_model}. */
  Wk: Variable2D;
  /** Value projection W_v ∈ ℝ^{d_model×d_model}. */
  Wv: Variable2D;
  /** Output projection W_o ∈ ℝ^{d_model×d_model}, mixing the concatenated heads. */
  Wo: Variable2D;
  /** Query bias, [d_model]. */
  bq: Variable1D;
  /** Key bias, [d_model]. */
  bk: Variable1D;
  /** Value bias, [d_model]. */
  bv: Variable1D;
  /** Output bias, [d_model]. */
  bo: Variable1D;
}

/** Throws unless d_model is divisible by the number of heads, naming both. */
function checkHeads(dModel: number, heads: number, fn: string): void {
  if (!Number.isInteger(heads) || heads <= 0) {
    throw new Error(`${fn}: heads must be a positive integer, got ${heads}`);
  }
  if (!Number.isInteger(dModel) || dModel <= 0) {
    throw new Error(`${fn}: d_model must be a positive integer, got ${dModel}`);
  }
  if (dModel % heads !== 0) {
    throw new Error(`${fn}: d_model ${dModel} is not divisible by heads ${heads}`);
  }
}

/**
 * Fresh multi-head attention parameters for width d_model and h heads: four
 * d_model×d_model projections (Glorot-scaled normal, see {@link initLinear}) and zero
 * biases, reproducible from `seed`. Throws when d_model is not divisible by h.
 */
export function initMultiHead(dModel: number, heads: number, seed: number): MultiHeadParams {
  checkHeads(dModel, heads, "initMultiHead");
  const [sq, sk, sv, so] = deriveSeeds(seed, 4);
  const q = initLinear(dModel, dModel, sq), k = initLinear(dModel, dModel, sk);
  const v = initLinear(dModel, dModel, sv), o = initLinear(dModel, dModel, so);
  return {
    heads,
    Wq: q.W,
    Wk: k.W,
    Wv: v.W,
    Wo: o.W,
    bq: q.b,
    bk: k.b,
    bv: v.b,
    bo: o.b,
  };
}

/** Every trainable tensor of multi-head attention: W_q, W_k, W_v, W_o, b_q, b_k, b_v, b_o. */
export function multiHeadParameters(p: MultiHeadParams): Variable[] {
  return [p.Wq, p.Wk, p.Wv, p.Wo, p.bq, p.bk, p.bv, p.bo];
}

/** Keys and values already computed for earlier tokens, each [B, h, T_past, d_k]. */
export interface PastKeysValues {
  /** K of the earlier tokens. */
  keys: Tensor;
  /** V of the earlier tokens. */
  values: Tensor;
}

/** Options of {@link multiHeadAttention}. */
export interface MultiHeadOptions extends AttentionOptions {
  /** A KV cache's keys and values of earlier tokens, [B, h, T_past, d_k]. */
  past?: PastKeysValues;
  /**
   * Local attention computing only the band ({@link bandedAttention}): query i sees keys
   * i − window + 1 … i, equal to `mask` = sparseAttentionMask(T, { kind: "local", window }) but
   * in time and memory ∝ T·(block + window). Self-attention only (xkv = xq), without `mask` or
   * `past`; the result's `weights` are then the band's, [B, h, ⌈T/block⌉, block,
   * block + window − 1].
   */
  band?: Omit<BandOptions, "dropout">;
}

/** The result of {@link multiHeadAttention}. */
export interface MultiHeadResult {
  /** MultiHead(Q, K, V) = Concat(head₁, …, head_h)·W_o + b_o, shape [B, T_q, d_model]. */
  output: Tensor;
  /** Every head's attention weights, [B, h, T_q, T_k] (with `band`: the band's, see there). */
  weights: Tensor;
  /** The keys attended over, [B, h, T_k, d_k] (with `past`: the past keys and the new ones). */
  keys: Tensor;
  /** The values attended over, [B, h, T_k, d_k]. */
  values: Tensor;
}

/** [B, T, d_model] → [B, h, T, d_k]: each head's columns as its own sequence. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, d] = x.shape;
  return tf.transpose(x.reshape([B, T, heads, d / heads]), [0, 2, 1, 3]);
}

/** [B, h, T, d_k] → [B, T, d_model]: the heads' outputs side by side (Concat). */
function mergeHeads(z: Tensor): Tensor {
  const [B, h, T, dk] = z.shape;
  return tf.transpose(z, [0, 2, 1, 3]).reshape([B, T, h * dk]);
}

/** Throws unless the inputs fit the parameters (widths, batches, dtypes, a live cache). */
function checkMultiHeadInputs(
  p: MultiHeadParams,
  xq: Tensor,
  xkv: Tensor,
  past: PastKeysValues | undefined,
  opts: MultiHeadOptions,
): void {
  const fn = "multiHeadAttention";
  if (opts.band && (opts.mask || past || xkv !== xq)) {
    throw new Error(
      `${fn}: band is local self-attention over the given tokens: pass xkv = xq and no mask ` +
        `or past (with a cache, use the mask sparseAttentionMask(T, pattern, past) instead)`,
    );
  }
  const dModel = p.Wq.shape[0];
  checkHeads(dModel, p.heads, fn);
  assertRank(xq, 3, `${fn}: queries xq`);
  assertRank(xkv, 3, `${fn}: keys/values xkv`);
  checkFloat(fn, [["xq", xq], ["xkv", xkv]]);
  for (const [name, x] of [["xq", xq], ["xkv", xkv]] as const) {
    if (x.shape[2] !== dModel) {
      throw new Error(
        `${fn}: ${name} ${shapeText(x)} has width ${x.shape[2]}, d_model is ${dModel}`,
      );
    }
    if (x.shape[0] === 0 || x.shape[1] === 0) {
      throw new Error(`${fn}: ${name} ${shapeText(x)} is empty (no batch or no positions)`);
    }
  }
  if (xq.shape[0] !== xkv.shape[0]) {
    throw new Error(
      `${fn}: xq ${shapeText(xq)} and xkv ${shapeText(xkv)} have different batch sizes`,
    );
  }
  if (past) {
    if (past.keys.isDisposed || past.values.isDisposed) {
      throw new Error(
        `${fn}: the cached keys/values were already freed (a KV cache is consumed by the call ` +
          `that extends it: use the cache that call returned)`,
      );
    }
    const expected = [xkv.shape[0], p.heads, null, dModel / p.heads];
    for (const [name, t] of [["keys", past.keys], ["values", past.values]] as const) {
      const ok = t.rank === 4 && expected.every((d, i) => d === null || d === t.shape[i]);
      if (!ok) {
        throw new Error(
          `${fn}: past ${name} ${shapeText(t)} do not fit [B, h, T_past, d_k] = ${
            shapeText(expected)
          }`,
        );
      }
    }
  }
}

/**
 * Multi-head attention:
 *
 *   headᵢ = Attention(X_q W_qⁱ, X_kv W_kⁱ, X_kv W_vⁱ),  i = 1 … h, each d_k = d_model/h wide
 *   MultiHead = Concat(head₁, …, head_h)·W_o
 *
 * (each projection also adds its bias). Self-attention when `xkv` is `xq`; cross-attention
 * (Q from the decoder, K and V from the encoder's output) when `xkv` is the encoder memory.
 * xq [B, T_q, d_model], xkv [B, T_k, d_model]; the optional additive `mask` must broadcast
 * against the scores [B, h, T_q, T_k] ([T_q, T_k] causal, [B, 1, 1, T_k] padding).
 *
 * With `past` (a KV cache's keys and values of earlier tokens, [B, h, T_past, d_k]), the new
 * keys and values are appended to them, K = [K_past; X_kv W_k], V = [V_past; X_kv W_v], so
 * a decoder computes each token's projections once; the result returns K and V for the
 * next call. With `dropout`, the attention weights are dropped out before they mix V. With
 * `band`, each head's attention is {@link bandedAttention}'s (local, only the band computed).
 *
 * Throws when the inputs' widths are not the parameters' d_model, the batches differ, an
 * input is not float32 or the cache was freed, naming the values.
 */
export function multiHeadAttention(
  p: MultiHeadParams,
  xq: Tensor,
  xkv: Tensor,
  opts: MultiHeadOptions = {},
): MultiHeadResult {
  const { past, band, ...attention } = opts;
  checkMultiHeadInputs(p, xq, xkv, past, opts);
  return named("multiHeadAttention", () =>
    tidyRecord(() => {
      const h = p.heads;
      const Q = splitHeads(linear(xq, p.Wq, p.bq), h); // [B, h, T_q, d_k]
      const kNew = splitHeads(linear(xkv, p.Wk, p.bk), h); // [B, h, t, d_k]
      const vNew = splitHeads(linear(xkv, p.Wv, p.bv), h);
      const keys = past ? tf.concat([past.keys, kNew], 2) : kNew; // [B, h, T_k, d_k]
      const values = past ? tf.concat([past.values, vNew], 2) : vNew;
      const { output, weights } = band
        ? bandedCore(Q, keys, values, { ...band, dropout: attention.dropout })
        : scaledDotProductAttention(Q, keys, values, attention);
      return { output: linear(mergeHeads(output), p.Wo, p.bo), weights, keys, values }; // [B, T_q, d]
    }));
}

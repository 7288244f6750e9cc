/**
 * Sampling: how a language model's next-token scores become text. The article's decoder
 * “选取概率最高的词” — picks the most probable word — which is one choice among several:
 *
 * - {@link softmaxWithTemperature}: p = softmax(z / T); T < 1 sharpens, T > 1 flattens, T = 0
 *   is greedy (all mass on the argmax);
 * - {@link topK}: keep the k most probable tokens; {@link topP} (nucleus): keep the smallest
 *   set whose mass reaches p; both renormalise;
 * - {@link sampleIndex}: draw one token from a distribution with a seeded random source;
 * - {@link generateTokens}: the autoregressive loop, on a GPT with a KV cache (or by
 *   re-running the whole context, for comparison);
 * - {@link beamSearch}: keep the `beamWidth` most probable continuations instead of one.
 *
 * The loops take a {@link LanguageModel} — anything that maps a token history to next-token
 * logits — so a hand-built toy model works as well as a GPT ({@link gptLanguageModel}). The
 * same logits, log-softmaxed, are a GPT's log P(next token): {@link gptLogProbNext} for one
 * history, {@link gptTokenLogProbs} for given tokens at every position of a batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { makeRng } from "./tensor.ts";
import { targetLogProbs } from "./objectives.ts";
import type { Tensor2D } from "./tf_types.ts";
import {
  createKVCache,
  disposeKVCache,
  type GPTConfig,
  gptForward,
  gptForwardCached,
  type GPTParams,
  type KVCache,
} from "./gpt.ts";

function checkFinite(name: string, values: readonly number[], what: string): void {
  if (values.length === 0) throw new Error(`${name}: ${what} is empty`);
  values.forEach((v, i) => {
    if (Number.isNaN(v) || v === Infinity) {
      throw new Error(`${name}: ${what}[${i}] is ${v}; expected a finite number (or −Infinity)`);
    }
  });
}

function checkProbs(name: string, probs: readonly number[]): void {
  if (probs.length === 0) throw new Error(`${name}: the distribution is empty`);
  let total = 0;
  probs.forEach((p, i) => {
    if (!(p >= 0) || !Number.isFinite(p)) {
      throw new Error(`${name}: probability ${i} is ${p}; expected a finite number ≥ 0`);
    }
    total += p;
  });
  if (total <= 0) throw new Error(`${name}: the probabilities sum to ${total}; expected > 0`);
}

/**
 * The indices of the n largest values, largest first; equal values in ascending index order.
 * Small n (the usual top-k, the candidates shown) keep a short sorted list in one pass
 * instead of sorting the whole vocabulary.
 */
function topIndices(values: readonly number[], n = values.length): number[] {
  const m = Math.min(n, values.length);
  if (m > 64) {
    return values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b).slice(0, m);
  }
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === m && !(v > values[best[m - 1]])) continue;
    let j = best.length < m ? best.length : m - 1;
    while (j > 0 && v > values[best[j - 1]]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best;
}

/**
 * The index of the largest value (the first one when several are equal):
 * argmaxᵢ xᵢ. Greedy decoding picks argmax of the logits.
 */
export function argmax(values: readonly number[]): number {
  if (values.length === 0) throw new Error("argmax: the list is empty");
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * pᵢ = exp((zᵢ − max z) / T) / Σⱼ exp((zⱼ − max z) / T): softmax of the logits divided by the
 * temperature T. Subtracting max z first changes nothing mathematically and keeps every
 * exponent ≤ 0, so low temperatures such as T = 0.05 cannot overflow. T = 1 is the model's own
 * distribution, T → 0 concentrates the mass on the largest logit, and T = 0 is defined as
 * that limit: a one-hot vector on argmax z (greedy decoding). Logits of −Infinity get p = 0.
 *
 * Throws when T is negative or not a number, or a logit is NaN or +Infinity.
 */
export function softmaxWithTemperature(logits: readonly number[], temperature: number): number[] {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new Error(
      `softmaxWithTemperature: temperature must be a finite number ≥ 0, got ${temperature}`,
    );
  }
  checkFinite("softmaxWithTemperature", logits, "logits");
  const best = argmax(logits);
  if (logits[best] === -Infinity) {
    throw new Error("softmaxWithTemperature: every logit is −Infinity");
  }
  if (temperature === 0) return logits.map((_, i) => (i === best ? 1 : 0));
  const max = logits[best];
  const e = logits.map((z) => Math.exp((z - max) / temperature));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

/**
 * Top-k: keeps the k most probable tokens and renormalises,
 * p′ᵢ = pᵢ / Σ_{j ∈ top k} pⱼ for i in the top k, 0 elsewhere. Ties at the boundary are
 * broken by index: of equal probabilities the lower token ids are kept, so exactly k entries
 * are kept (entries that were already 0 stay 0, so fewer than k may be nonzero).
 *
 * Throws when k is not an integer in 1 … vocabulary size, or `probs` is not a distribution.
 */
export function topK(probs: readonly number[], k: number): number[] {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`topK: k must be an integer ≥ 1, got ${k}`);
  }
  checkProbs("topK", probs);
  if (k > probs.length) {
    throw new Error(`topK: k = ${k} is larger than the vocabulary (${probs.length} tokens)`);
  }
  const kept = topIndices(probs, k);
  const mass = kept.reduce((s, i) => s + probs[i], 0);
  const out = probs.map(() => 0);
  for (const i of kept) out[i] = probs[i] / mass;
  return out;
}

/** What {@link topP} keeps. */
export interface NucleusResult {
  /** The renormalised distribution: p′ᵢ = pᵢ / (mass of the nucleus) inside it, 0 outside. */
  probs: number[];
  /** The token ids in the nucleus, most probable first (ties: lower id first). */
  kept: number[];
  /** The smallest probability (before renormalising) inside the nucleus. */
  cutoffProbability: number;
  /** The nucleus's mass before renormalising, ≥ p (relative to the total mass). */
  mass: number;
}

/**
 * Top-p (nucleus) sampling: sort the tokens by probability, p₍₁₎ ≥ p₍₂₎ ≥ …, and keep the
 * smallest prefix V⁽ᵖ⁾ = {(1) … (m)} with Σᵢ₌₁ᵐ p₍ᵢ₎ ≥ p; renormalise inside it. Dropping the
 * last kept token would bring the mass below p. Ties are ordered by token id. The mass is
 * measured relative to Σ p, so p = 1 keeps every token of nonzero probability even when the
 * input's sum is off by rounding.
 *
 * Throws when p is outside (0, 1] or `probs` is not a distribution.
 */
export function topP(probs: readonly number[], p: number): NucleusResult {
  if (!(p > 0 && p <= 1)) throw new Error(`topP: p must be in (0, 1], got ${p}`);
  checkProbs("topP", probs);
  const order = topIndices(probs);
  const total = order.reduce((s, i) => s + probs[i], 0);
  const kept: number[] = [];
  let mass = 0;
  for (const i of order) {
    kept.push(i);
    mass += probs[i];
    if (mass >= p * total) break;
  }
  const out = probs.map(() => 0);
  for (const i of kept) out[i] = probs[i] / mass;
  return {
    probs: out,
    kept,
    cutoffProbability: probs[kept[kept.length - 1]],
    mass: mass / total,
  };
}

/**
 * Draws one index i with probability pᵢ / Σⱼ pⱼ (inverse transform: the first i whose running
 * sum exceeds u·Σp for u = rng() ∈ [0, 1)). With a seeded `rng` (`makeRng(seed)`) the draws
 * are reproducible. Zero-probability indices are never drawn.
 */
export function sampleIndex(probs: readonly number[], rng: () => number): number {
  checkProbs("sampleIndex", probs);
  const total = probs.reduce((a, b) => a + b, 0);
  const u = rng() * total;
  let run = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    run += probs[i];
    last = i;
    if (u < run) return i;
  }
  return last; // u fell past the rounded total: the last nonzero index
}

/** How {@link nextTokenDistribution} and the generation loop choose the next token. */
export interface SamplingOptions {
  /** T in softmax(z / T); default 1; 0 = greedy (always the most probable token). */
  temperature?: number;
  /** Keep only the k most probable tokens ({@link topK}); default: all. */
  topK?: number;
  /** Keep only the nucleus of mass p ({@link topP}); default: all (p = 1). */
  topP?: number;
  /** The seed of the random source (default 0): the same seed gives the same text. */
  seed?: number;
}

/** Throws unless every given sampling option is valid, naming the function and the value. */
function checkSamplingOptions(name: string, opts: SamplingOptions): void {
  const { temperature, topK: k, topP: p, seed } = opts;
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature))) {
    throw new Error(`${name}: temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  if (k !== undefined) checkCount(name, "topK", k, 1);
  if (p !== undefined && !(p > 0 && p <= 1)) {
    throw new Error(`${name}: topP must be in (0, 1], got ${p}`);
  }
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new Error(`${name}: seed must be an integer, got ${seed}`);
  }
}

function checkCount(name: string, what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name}: ${what} must be an integer ≥ ${min}, got ${n}`);
  }
}

/**
 * The distribution the next token is drawn from: p = softmax(z / T), then top-k, then top-p
 * (the order Hugging Face's `generate` applies them). With no options it is softmax(z). A
 * top-k larger than the vocabulary keeps every token.
 *
 * Throws on a temperature < 0, a top-k that is not an integer ≥ 1, a top-p outside (0, 1].
 */
export function nextTokenDistribution(
  logits: readonly number[],
  opts: SamplingOptions = {},
): number[] {
  checkSamplingOptions("nextTokenDistribution", opts);
  let p = softmaxWithTemperature(logits, opts.temperature ?? 1);
  if (opts.topK !== undefined) p = topK(p, Math.min(opts.topK, p.length));
  if (opts.topP !== undefined) p = topP(p, opts.topP).probs;
  return p;
}

/**
 * A next-token predictor, as the decoding loops see it: `nextLogits(ids)` returns the logits
 * z of the token that follows `ids` (one per vocabulary entry). Hand-built toy models
 * implement it directly; {@link gptLanguageModel} wraps a GPT.
 */
export interface LanguageModel {
  /** The vocabulary size V (the length of every logits vector). */
  vocabSize: number;
  /** The longest history the model reads; prompts longer than this are rejected. */
  contextLength: number;
  /** The logits z ∈ ℝⱽ of the next token after `ids`. */
  nextLogits(ids: readonly number[]): number[];
}

/** A GPT as {@link generateTokens} and {@link beamSearch} accept it. */
export interface GPTModel {
  /** The weights ({@link initGPT}, a checkpoint). */
  params: GPTParams;
  /** Its configuration. */
  config: GPTConfig;
}

/** A {@link LanguageModel} holding tensors (a KV cache): call `dispose` when done. */
export interface DisposableLanguageModel extends LanguageModel {
  /** Frees the model's cache (not the GPT's weights). */
  dispose(): void;
}

/**
 * Wraps a GPT as a {@link LanguageModel}. With `useCache` (default) it keeps a KV cache: when
 * the history extends the one seen last time, only the new tokens are run through the model
 * (`gptForwardCached`); otherwise the cache is rebuilt from the history. Without it every call
 * re-runs the whole history (`gptForward`). Histories longer than the context keep their last
 * `contextLength` tokens (the window slides; with learned positions the cache cannot slide, so
 * each such step re-runs the window). Both give the same logits up to float rounding.
 */
export function gptLanguageModel(
  model: GPTModel,
  opts: { useCache?: boolean } = {},
): DisposableLanguageModel {
  const { params, config } = model;
  const useCache = opts.useCache ?? true;
  let cache: KVCache | undefined;
  let cachedIds: number[] = [];
  const lastRow = (logits: tf.Tensor, t: number): number[] => {
    const row = logits.slice([0, t - 1, 0], [1, 1, config.vocabSize]);
    const z = Array.from(row.dataSync());
    row.dispose();
    return z;
  };
  return {
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    nextLogits(ids) {
      const window = ids.slice(-config.contextLength);
      if (window.length === 0) throw new Error("nextLogits: the history is empty");
      if (!useCache) {
        return tf.tidy(() => {
          const x = tf.tensor2d([window], [1, window.length], "int32");
          return lastRow(gptForward(params, config, x).logits, window.length);
        });
      }
      const extendsCache = cache !== undefined && window.length > cachedIds.length &&
        cachedIds.every((id, i) => window[i] === id);
      if (!extendsCache) {
        if (cache) disposeKVCache(cache);
        cache = createKVCache(config, 1);
        cachedIds = [];
      }
      const fresh = window.slice(cachedIds.length);
      const x = tf.tensor2d([fresh], [1, fresh.length], "int32");
      const out = gptForwardCached(params, config, x, cache as KVCache);
      x.dispose();
      cache = out.cache;
      cachedIds = window;
      const z = lastRow(out.logits, fresh.length);
      out.logits.dispose();
      return z;
    },
    dispose() {
      if (cache) disposeKVCache(cache);
      cache = undefined;
      cachedIds = [];
    },
  };
}

/**
 * log P(· ∣ context) of a GPT, as `l1Terms` (objectives.ts) asks for it:
 *
 *   log P(u ∣ context) = z_u − max z − log Σᵥ exp(zᵥ − max z)
 *
 * with z the next-token logits that {@link gptLanguageModel} reads at the context's last
 * position (the ones the decoding loops sample from; run without a KV cache, so there is
 * nothing to dispose) and the log-softmax beam search uses. A context longer than the model's
 * context length keeps its last tokens.
 */
export function gptLogProbNext(p: GPTParams, config: GPTConfig): (context: number[]) => number[] {
  const lm = gptLanguageModel({ params: p, config }, { useCache: false });
  return (context) => logSoftmax(lm.nextLogits(context), "gptLogProbNext");
}

/**
 * How likely a GPT finds given tokens, at every position of a batch in one forward pass:
 *
 *   log P(targets[b, t] ∣ ids[b, 0 … t]; Θ) = log softmax(z_{b,t})[targets[b, t]]
 *
 * with z = `gptForward`'s logits and the pick of `targetLogProbs` (objectives.ts); `ids` and
 * `targets` are [B, T] int32, the result [B, T]. With the targets the ids shifted left by
 * one, these are the terms of L₁ at every position; prompting.ts averages them over a
 * candidate's tokens (GPT-1's zero-shot score). It has a gradient, for objectives that weigh
 * each token's log-probability. Throws on targets of another shape or outside the vocabulary.
 */
export function gptTokenLogProbs(model: GPTModel, ids: Tensor2D, targets: Tensor2D): Tensor2D {
  const { params, config } = model;
  return tf.tidy(() => targetLogProbs(gptForward(params, config, ids).logits, targets) as Tensor2D);
}

function checkPrompt(name: string, lm: LanguageModel, prompt: readonly number[]): void {
  if (prompt.length === 0) throw new Error(`${name}: the prompt is empty; give at least one token`);
  if (prompt.length > lm.contextLength) {
    throw new Error(
      `${name}: the prompt has ${prompt.length} tokens, longer than the context (${lm.contextLength})`,
    );
  }
  prompt.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= lm.vocabSize) {
      throw new Error(
        `${name}: prompt token ${i} is ${id}; expected an id in 0 … ${lm.vocabSize - 1}`,
      );
    }
  });
}

/** Runs `fn` on the language model, wrapping (and afterwards disposing) a GPT. */
function withModel<R>(
  model: LanguageModel | GPTModel,
  useCache: boolean,
  fn: (lm: LanguageModel) => R,
): R {
  if ("nextLogits" in model) return fn(model);
  const lm = gptLanguageModel(model, { useCache });
  try {
    return fn(lm);
  } finally {
    lm.dispose();
  }
}

/** Options of {@link generateTokens}. */
export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to add at most. */
  maxNewTokens: number;
  /** For a GPT: reuse keys and values with a KV cache (default true) or re-run the context. */
  useCache?: boolean;
  /** Stop after generating any of these ids (it is included in the output). */
  stopIds?: number[];
  /** How many of the most probable candidates each step records (default 5). */
  topCandidates?: number;
}

/** One step of {@link generateTokens}. */
export interface GenerationStep {
  /** The most probable next tokens under the model's own distribution softmax(z). */
  candidates: { id: number; prob: number }[];
  /** The token chosen. */
  chosen: number;
  /** Its probability under softmax(z). */
  chosenProb: number;
  /** Its probability in the distribution it was drawn from (after T, top-k, top-p). */
  sampledProb: number;
}

/**
 * The autoregressive loop: for t = 1 … maxNewTokens, z = model(prompt ⧺ x₁ … xₜ₋₁),
 * p = {@link nextTokenDistribution}(z, opts), xₜ ~ p (argmax p when temperature = 0), drawn
 * with `makeRng(seed)`; stops early after a token in `stopIds`. Returns the new ids (without
 * the prompt) and, per step, the model's top candidates and the choice. On a GPT the cached and the
 * re-forward loop make the same choices for the same seed.
 *
 * Throws on an empty prompt, a prompt longer than the context or with ids outside the
 * vocabulary, and on bad sampling parameters, naming the value.
 */
export function generateTokens(
  model: LanguageModel | GPTModel,
  prompt: readonly number[],
  opts: GenerateOptions,
): { ids: number[]; steps: GenerationStep[] } {
  checkCount("generateTokens", "maxNewTokens", opts.maxNewTokens, 0);
  const nTop = opts.topCandidates ?? 5;
  checkCount("generateTokens", "topCandidates", nTop, 0);
  checkSamplingOptions("generateTokens", opts);
  const rng = makeRng(opts.seed ?? 0);
  const greedy = opts.temperature === 0;
  return withModel(model, opts.useCache ?? true, (lm) => {
    checkPrompt("generateTokens", lm, prompt);
    const history = [...prompt];
    const ids: number[] = [];
    const steps: GenerationStep[] = [];
    for (let t = 0; t < opts.maxNewTokens; t++) {
      const z = lm.nextLogits(history);
      const own = softmaxWithTemperature(z, 1);
      const p = nextTokenDistribution(z, opts);
      const chosen = greedy ? argmax(p) : sampleIndex(p, rng);
      const candidates = topIndices(own, nTop).map((id) => ({ id, prob: own[id] }));
      steps.push({ candidates, chosen, chosenProb: own[chosen], sampledProb: p[chosen] });
      history.push(chosen);
      ids.push(chosen);
      if (opts.stopIds?.includes(chosen)) break;
    }
    return { ids, steps };
  });
}

/** log softmax(z)ᵢ = zᵢ − max z − log Σⱼ exp(zⱼ − max z); `name` names the caller in errors. */
function logSoftmax(z: readonly number[], name: string): number[] {
  checkFinite(name, z, "logits");
  const max = z[argmax(z)];
  const logSum = Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0));
  return z.map((x) => x - max - logSum);
}

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions {
  /** How many hypotheses to keep at each step (1 = greedy). */
  beamWidth: number;
  /** How many tokens to add at most. */
  maxNewTokens: number;
  /** α in score = log P / |y|^α (default 0: the plain log-probability). */
  lengthPenalty?: number;
  /** A hypothesis ending in one of these ids is finished: it keeps competing, unextended. */
  stopIds?: number[];
}

/** One hypothesis of {@link beamSearch}. */
export interface Beam {
  /** The generated ids (without the prompt). */
  ids: number[];
  /** log P(ids ∣ prompt) = Σₜ log p(xₜ ∣ prompt, x₍<t₎), natural log. */
  logProb: number;
  /** logProb / |ids|^α, what the beams are ranked by. */
  score: number;
}

/**
 * Beam search: keep the `beamWidth` highest-scoring continuations. At each step every
 * unfinished beam y is extended by every token w with log P(y w) = log P(y) + log softmax(z)_w;
 * the best `beamWidth` of these and of the finished beams survive. It stops after
 * `maxNewTokens` steps or when every surviving beam is finished, and returns the survivors,
 * best first. With beamWidth 1 it is greedy decoding; wider beams can find a sequence greedy
 * misses, when a less probable first token leads to much more probable later ones — and can
 * lose greedy's, when its prefix falls out of the beam (beam search is not monotone in the
 * width; notebooks/07_sampling.ts builds a model where B = 2 ends below greedy). Ties are
 * broken by beam order, then by lower token id. On a GPT it re-runs each beam's context.
 */
export function beamSearch(
  model: LanguageModel | GPTModel,
  prompt: readonly number[],
  opts: BeamSearchOptions,
): { sequences: Beam[] } {
  checkCount("beamSearch", "beamWidth", opts.beamWidth, 1);
  checkCount("beamSearch", "maxNewTokens", opts.maxNewTokens, 0);
  const alpha = opts.lengthPenalty ?? 0;
  if (!Number.isFinite(alpha)) {
    throw new Error(`beamSearch: lengthPenalty must be a finite number, got ${alpha}`);
  }
  const score = (logProb: number, n: number) => (n === 0 ? logProb : logProb / n ** alpha);
  const stop = new Set(opts.stopIds ?? []);
  const finished = (b: Beam) => b.ids.length > 0 && stop.has(b.ids[b.ids.length - 1]);
  return withModel(model, false, (lm) => {
    checkPrompt("beamSearch", lm, prompt);
    let beams: Beam[] = [{ ids: [], logProb: 0, score: 0 }];
    for (let t = 0; t < opts.maxNewTokens && !beams.every(finished); t++) {
      const pool: Beam[] = [];
      for (const b of beams) {
        if (finished(b)) {
          pool.push(b);
          continue;
        }
        const z = lm.nextLogits([...prompt, ...b.ids]);
        const logP = logSoftmax(z, "beamSearch");
        // only a beam's own top `beamWidth` tokens can survive the cut below; they are taken in
        // the order of the logits, so that ties after rounding still fall as in greedy
        for (const w of topIndices(z, opts.beamWidth).filter((w) => z[w] > -Infinity)) {
          const logProb = b.logProb + logP[w];
          const ids = [...b.ids, w];
          pool.push({ ids, logProb, score: score(logProb, ids.length) });
        }
      }
      // a stable sort keeps beam order, then token order, among equal scores
      beams = pool.sort((a, b) => b.score - a.score).slice(0, opts.beamWidth);
    }
    return { sequences: beams };
  });
}

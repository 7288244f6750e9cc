/**
 * Training, shared by every chapter: the Adam and AdamW optimisers, GPT-1's warmup + cosine
 * learning-rate schedule, gradient clipping, shuffled batches and the loop {@link fit} that
 * ties them together — with evaluation, checkpoints, a NaN/Inf guard and resuming. Nothing
 * here draws; a chapter passes `onStep` a display (`trainingMonitor` from the display layer)
 * to watch the loss fall.
 *
 * ```ts
 * const w = tf.variable(tf.zeros([3, 1]));
 * const { losses } = await fit({
 *   variables: [w],
 *   steps: 200,
 *   loss: () => tf.losses.meanSquaredError(y, tf.matMul(X, w)),
 *   optimizer: createOptimizer({ learningRate: 0.05 }),
 * });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Variable } from "./tf_types.ts";
import { makeRng } from "./tensor.ts";

/** Settings of {@link createOptimizer}: Adam (Kingma & Ba, 2015). */
export interface AdamOptions {
  /** The step size α, or a schedule: a function of the step t = 1, 2, … giving α_t. */
  learningRate: number | ((step: number) => number);
  /** Decay of the first-moment average m (default 0.9). */
  beta1?: number;
  /** Decay of the second-moment average v (default 0.999). */
  beta2?: number;
  /** ε, keeps the division finite where v ≈ 0 (default 1e-8). */
  epsilon?: number;
}

/** Settings of {@link createAdamW}: Adam plus decoupled weight decay. */
export interface AdamWOptions extends AdamOptions {
  /** The decay rate λ (GPT-1: 0.01). */
  weightDecay: number;
  /**
   * Which variables decay (default {@link defaultDecayFilter}: the weight matrices and the
   * embeddings, not the biases and LayerNorm gains). `index` is the variable's position in
   * the list given to `applyGradients`.
   */
  decayFilter?: (variable: Variable, index: number) => boolean;
}

/** Updates parameters from their gradients, keeping whatever state it needs between steps. */
export interface Optimizer {
  /** How many updates it has applied: the t of the last update. */
  readonly step: number;
  /** Applies one update: `grads[i]` is ∂L/∂`variables[i]`, of the same shape. */
  applyGradients(variables: readonly Variable[], grads: readonly Tensor[]): void;
  /**
   * A copy of the optimiser's state, to save for resuming: `"step"` (t, a scalar) and, for the
   * i-th variable it has seen (in the order first seen, i.e. the order of the `variables` list
   * `fit` passes), `"m.i"` and `"v.i"`. The caller owns (and disposes) the tensors.
   */
  getState?(): Promise<Record<string, Tensor>>;
  /**
   * Replaces the state with a copy of one from {@link Optimizer.getState}: t continues from
   * the saved step (and with it the learning-rate schedule), and the i-th variable seen from
   * now on takes moments i, so a resumed run must pass its variables in the same order.
   */
  setState?(state: Record<string, Tensor>): void;
  /** Frees the optimiser's state (Adam's m and v). */
  dispose(): void;
}

function checkPositive(value: number, name: string, max = Infinity): void {
  if (!(typeof value === "number" && value > 0 && value < max)) {
    throw new Error(
      `${name} must be a number in (0, ${max === Infinity ? "∞" : max}), got ${String(value)}`,
    );
  }
}

/**
 * Adam. For each parameter θ with gradient g, at step t = 1, 2, …:
 *
 *   m ← β₁·m + (1 − β₁)·g        v ← β₂·v + (1 − β₂)·g²
 *   m̂ = m / (1 − β₁ᵗ)            v̂ = v / (1 − β₂ᵗ)
 *   θ ← θ − α_t · m̂ / (√v̂ + ε)
 *
 * m and v start at zero; the division by 1 − βᵗ corrects that start, so the first update is
 * α·g/(|g| + ε) ≈ α·sign(g). Written here rather than taken from `tf.train.adam` so the
 * learning rate can follow a schedule, the state can be saved and restored for resuming, and
 * {@link createAdamW} can extend the rule.
 */
export function createOptimizer(opts: AdamOptions): Optimizer {
  return adam(opts, 0, () => false);
}

/**
 * The default {@link AdamWOptions.decayFilter}: decay every variable of rank ≥ 2 (weight
 * matrices, and the token and position embeddings), not the rank-1 biases and LayerNorm
 * gains γ and shifts β. That is GPT-1's rule (§4.1: "L2 regularization … with w = 0.01 on
 * all non bias or gain weights") and nanoGPT's; to spare the embeddings too, pass a filter
 * that excludes them.
 */
export function defaultDecayFilter(variable: Variable): boolean {
  return variable.rank >= 2;
}

/**
 * AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay. With m̂, v̂ as in
 * {@link createOptimizer}, for each parameter θ that `decayFilter` selects:
 *
 *   θ ← θ − α_t · (m̂ / (√v̂ + ε) + λ·θ)
 *
 * and the plain Adam update for the others. The decay λ·θ is applied to θ directly, not added
 * to the gradient: "Adam + L2" (g ← g + λθ) feeds λθ through m̂/√v̂, which rescales it per
 * parameter and mostly cancels it where gradients are large; here every decayed weight shrinks
 * by the same factor 1 − α_t·λ per step. Same schedule, state and `Optimizer` interface as
 * {@link createOptimizer}; weightDecay 0 is exactly Adam.
 */
export function createAdamW(opts: AdamWOptions): Optimizer {
  const { weightDecay, decayFilter = defaultDecayFilter } = opts;
  if (!(typeof weightDecay === "number" && weightDecay >= 0 && Number.isFinite(weightDecay))) {
    throw new Error(`weightDecay must be a finite number ≥ 0, got ${String(weightDecay)}`);
  }
  return adam(opts, weightDecay, decayFilter);
}

/** Adam's moments for one variable. */
interface Moments {
  m: Variable;
  v: Variable;
}

/** Adam with decay λ on the variables `decays` selects (λ = 0: plain Adam). */
function adam(
  opts: AdamOptions,
  lambda: number,
  decays: (variable: Variable, index: number) => boolean,
): Optimizer {
  const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = opts;
  if (typeof learningRate !== "function") checkPositive(learningRate, "learningRate");
  checkPositive(beta1, "beta1", 1);
  checkPositive(beta2, "beta2", 1);
  checkPositive(epsilon, "epsilon");
  /** The moments of each variable seen, in the order first seen. */
  let seen: { variable: Variable; moments: Moments }[] = [];
  const byVariable = new Map<Variable, Moments>();
  /** Moments restored by setState, waiting for the variable that takes their index. */
  let restored: Moments[] = [];
  let t = 0;
  const momentsOf = (theta: Variable): Moments => {
    let moments = byVariable.get(theta);
    if (moments) return moments;
    const index = seen.length;
    moments = restored[index];
    if (moments && moments.m.shape.join(",") !== theta.shape.join(",")) {
      throw new Error(
        `optimizer state: moments ${index} have shape [${moments.m.shape}] but variable ` +
          `${theta.name} (number ${index} seen) has shape [${theta.shape}]; pass the variables ` +
          `in the order of the saved run`,
      );
    }
    moments ??= tf.tidy(() => ({
      m: tf.variable(tf.zerosLike(theta), false),
      v: tf.variable(tf.zerosLike(theta), false),
    }));
    seen.push({ variable: theta, moments });
    byVariable.set(theta, moments);
    return moments;
  };
  const freeAll = () => {
    const owned = new Set<Moments>([...seen.map((s) => s.moments), ...restored]);
    for (const { m, v } of owned) tf.dispose([m, v]);
    seen = [];
    restored = [];
    byVariable.clear();
  };
  return {
    get step() {
      return t;
    },
    applyGradients(variables, grads) {
      if (variables.length !== grads.length) {
        throw new Error(
          `applyGradients: ${variables.length} variables but ${grads.length} gradients`,
        );
      }
      variables.forEach((x, i) => {
        if (x.shape.join(",") !== grads[i].shape.join(",")) {
          throw new Error(
            `applyGradients: variable ${x.name} has shape [${x.shape}], its gradient [${
              grads[i].shape
            }]`,
          );
        }
      });
      const alpha = typeof learningRate === "function" ? learningRate(t + 1) : learningRate;
      if (!Number.isFinite(alpha) || alpha < 0) {
        throw new Error(`learning rate at step ${t + 1} must be finite and ≥ 0, got ${alpha}`);
      }
      const moments = variables.map(momentsOf);
      t++;
      tf.tidy(() => {
        variables.forEach((theta, i) => {
          const { m, v } = moments[i];
          const g = grads[i];
          m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
          v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
          const mHat = tf.div(m, 1 - Math.pow(beta1, t));
          const vHat = tf.div(v, 1 - Math.pow(beta2, t));
          let update = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
          if (lambda > 0 && decays(theta, i)) update = tf.add(update, tf.mul(theta, lambda));
          theta.assign(tf.sub(theta, tf.mul(alpha, update)));
        });
      });
    },
    getState() {
      const state: Record<string, Tensor> = { step: tf.scalar(t, "int32") };
      seen.forEach(({ moments }, i) => {
        state[`m.${i}`] = tf.clone(moments.m);
        state[`v.${i}`] = tf.clone(moments.v);
      });
      return Promise.resolve(state);
    },
    setState(state) {
      const step = state.step;
      if (!step || step.size !== 1) {
        throw new Error(
          `optimizer.setState: expected a scalar "step", got keys ${Object.keys(state)}`,
        );
      }
      const moments: Moments[] = [];
      for (let i = 0; `m.${i}` in state || `v.${i}` in state; i++) {
        const m = state[`m.${i}`];
        const v = state[`v.${i}`];
        if (!m || !v || m.shape.join(",") !== v.shape.join(",")) {
          throw new Error(
            `optimizer.setState: "m.${i}" and "v.${i}" must both be present with the same shape`,
          );
        }
        moments.push({ m: tf.variable(m, false), v: tf.variable(v, false) });
      }
      const known = new Set(["step", ...moments.flatMap((_, i) => [`m.${i}`, `v.${i}`])]);
      const extra = Object.keys(state).filter((key) => !known.has(key));
      if (extra.length > 0) {
        tf.dispose(moments.flatMap(({ m, v }) => [m, v]));
        throw new Error(`optimizer.setState: unexpected keys ${extra.join(", ")}`);
      }
      freeAll();
      restored = moments;
      t = step.dataSync()[0];
    },
    dispose: freeAll,
  };
}

/** Settings of {@link warmupCosine}. */
export interface WarmupCosineOptions {
  /** The largest learning rate, reached at the end of warmup (GPT-1: 2.5e-4). */
  peak: number;
  /** Steps of linear warmup from 0 (GPT-1: 2,000); 0 starts at the peak. */
  warmupSteps: number;
  /** The step at which the cosine reaches `floor`; later steps stay there. */
  totalSteps: number;
  /** The learning rate at the end (default 0, as GPT-1). */
  floor?: number;
}

/**
 * GPT-1's learning-rate schedule (§4.1: "increased linearly from zero over the first 2000
 * updates and annealed to 0 using a cosine schedule"), as a function of the step t = 1, 2, …
 * for {@link createOptimizer} / {@link createAdamW}. With W warmup steps, N total steps:
 *
 *   α(t) = peak · t / W                                             for t ≤ W
 *   α(t) = floor + (peak − floor) · ½ · (1 + cos(π · (t − W)/(N − W)))   for W < t ≤ N
 *   α(t) = floor                                                    for t > N
 */
export function warmupCosine(opts: WarmupCosineOptions): (step: number) => number {
  const { peak, warmupSteps, totalSteps, floor = 0 } = opts;
  checkPositive(peak, "warmupCosine: peak");
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(`warmupCosine: warmupSteps must be an integer ≥ 0, got ${warmupSteps}`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) {
    throw new Error(
      `warmupCosine: totalSteps must be an integer > warmupSteps ${warmupSteps}, got ${totalSteps}`,
    );
  }
  if (!(floor >= 0 && floor <= peak)) {
    throw new Error(`warmupCosine: floor must be in [0, peak ${peak}], got ${floor}`);
  }
  return (t) => {
    if (warmupSteps > 0 && t <= warmupSteps) return peak * Math.max(t, 0) / warmupSteps;
    if (t >= totalSteps) return floor;
    const progress = (t - warmupSteps) / (totalSteps - warmupSteps);
    return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/**
 * Rescales gradients so that their global norm is at most `maxNorm`:
 *
 *   ‖g‖ = √(Σᵢ Σ gᵢ²)        gᵢ ← gᵢ · min(1, maxNorm / ‖g‖)
 *
 * All gradients shrink by the same factor, so the update keeps its direction. Returns new
 * tensors (the caller disposes them and the inputs) and ‖g‖ before clipping.
 */
export function clipByGlobalNorm(
  grads: readonly Tensor[],
  maxNorm: number,
): { grads: Tensor[]; norm: number } {
  checkPositive(maxNorm, "clipByGlobalNorm: maxNorm");
  const norm = grads.length === 0 ? 0 : tf.tidy(() => globalNorm(grads).dataSync()[0]);
  return { grads: rescale(grads, norm, maxNorm), norm };
}

/** ‖g‖ = √(Σᵢ Σ gᵢ²) on the device, for {@link clipByGlobalNorm} and {@link fit}. */
function globalNorm(grads: readonly Tensor[]): Scalar {
  return tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as Scalar;
}

/** gᵢ · min(1, maxNorm / ‖g‖), given ‖g‖ = `norm`: new tensors. */
function rescale(grads: readonly Tensor[], norm: number, maxNorm: number): Tensor[] {
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  return grads.map((g) => tf.mul(g, scale));
}

/**
 * One epoch of minibatches: the indices 0 … n − 1 in a seeded random order (Fisher–Yates
 * with {@link makeRng}), cut into batches of `batchSize` (the last one may be shorter).
 * The same seed gives the same batches; a new seed per epoch gives a new order.
 */
export function batchIndices(n: number, batchSize: number, seed: number): number[][] {
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`batchIndices: n must be a non-negative integer, got ${n}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  }
  const rng = makeRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * The minibatches of successive epochs over n examples, by training step: `batchAt(t)` for
 * t = 1, 2, … (the steps of {@link fit}) is batch (t − 1) mod k of epoch e = ⌊(t − 1) / k⌋,
 * where k = ⌈n / batchSize⌉ batches make an epoch and epoch e is
 * `batchIndices(n, batchSize, seed + e)`. So each epoch shows every example exactly once, in
 * a new order, and a step's batch depends only on the step: a resumed run sees the batches of
 * an uninterrupted one. The current epoch is kept, so going through the steps in order
 * shuffles once per epoch.
 */
export function epochBatches(
  n: number,
  batchSize: number,
  seed: number,
): (step: number) => number[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`epochBatches: n must be a positive integer, got ${n}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`epochBatches: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(seed)) {
    throw new Error(`epochBatches: seed must be an integer, got ${seed}`);
  }
  const perEpoch = Math.ceil(n / batchSize);
  let epoch = -1;
  let batches: number[][] = [];
  return (step) => {
    if (!Number.isInteger(step) || step < 1) {
      throw new Error(`epochBatches: step must be a positive integer, got ${step}`);
    }
    const e = Math.floor((step - 1) / perEpoch);
    if (e !== epoch) {
      batches = batchIndices(n, batchSize, seed + e);
      epoch = e;
    }
    return [...batches[(step - 1) % perEpoch]];
  };
}

/** What {@link fit} reports after each step. */
export interface StepReport {
  /** The step just taken, startStep + 1 … steps. */
  step: number;
  /** The training loss of this step (before its update). */
  loss: number;
  /** The evaluation's value, on the steps where it ran. */
  evalLoss?: number;
  /** ‖g‖ before clipping, when `clipNorm` is set. */
  gradNorm?: number;
  /** Milliseconds since this call of {@link fit} started. */
  elapsedMs: number;
  /** Training tokens per second so far, when `tokensPerStep` is set. */
  tokensPerSecond?: number;
}

/** Settings of {@link fit}. */
export interface FitOptions {
  /** The parameters to train. */
  variables: readonly Variable[];
  /**
   * The number of the last step: the run takes steps startStep + 1 … steps (all of them
   * when not resuming).
   */
  steps: number;
  /**
   * Resume after this step (default 0): the steps, `loss(step)`'s batches, evaluations and
   * checkpoints continue their numbering. The optimizer must have taken exactly this many
   * steps — restore its state with `optimizer.setState` — so its schedule continues too;
   * with the same parameters, state and batches the resumed run equals an uninterrupted one
   * bit for bit.
   */
  startStep?: number;
  /**
   * The loss of step `step` (1-based) as a scalar computed from `variables`, typically on
   * that step's batch. Its intermediate tensors are freed by {@link fit}.
   */
  loss: (step: number) => Scalar;
  /** The optimiser (default: Adam with α = 0.001, freed at the end; one passed in is kept). */
  optimizer?: Optimizer;
  /** When set, gradients are clipped to this global norm ({@link clipByGlobalNorm}). */
  clipNorm?: number;
  /** Runs `fn` (e.g. the loss on held-out data) after every `every` steps and after the last. */
  evaluate?: { every: number; fn: () => number | Promise<number> };
  /**
   * Saves a checkpoint after every `every`-th step (step % every = 0) and after the last,
   * each time after a finite step's update and only when the parameters are finite:
   * `save(step)` writes the parameters as they are after that step (and, for resuming, the
   * optimiser's state). A NaN stop names the last step saved.
   */
  checkpoint?: { every: number; save: (step: number) => Promise<void> };
  /** Tokens in one step's batch (B·T), to report tokens per second. */
  tokensPerStep?: number;
  /** Called after each step, awaited (a display, a log). */
  onStep?: (report: StepReport) => void | Promise<void>;
}

/** What {@link fit} returns. */
export interface FitResult {
  /** The training loss of every step taken, in order. */
  losses: number[];
  /** The evaluations, with the step after which each ran. */
  evals: { step: number; value: number }[];
}

function checkEvery(what: { every: number } | undefined, name: string): void {
  if (what && !(Number.isInteger(what.every) && what.every > 0)) {
    throw new Error(`fit: ${name}.every must be a positive integer, got ${what.every}`);
  }
}

/**
 * The names (`names[i]` for `tensors[i]`) of the tensors with an entry that is NaN or ±∞: one
 * read of one flag per tensor, so {@link fit} calls it only when a check failed, before a
 * checkpoint and after the last step.
 */
function nonFinite(tensors: readonly Tensor[], names: readonly string[]): string[] {
  const finite = tf.tidy(() =>
    tf.stack(tensors.map((t) => tf.cast(tf.all(tf.isFinite(t)), "int32"))).dataSync()
  );
  return names.filter((_, i) => finite[i] !== 1);
}

/**
 * Gradient descent: for step = startStep + 1 … steps, L = loss(step), g = ∂L/∂θ
 * (`tf.variableGrads`), optionally g ← clip(g), then θ ← optimizer(θ, g); then the
 * evaluation and the checkpoint when due. No tensor outlives its step.
 *
 * The NaN/Inf guard: training stops with an error naming the step as soon as the loss or the
 * gradient has a NaN or infinite entry — before that step's update, so the parameters keep
 * the values of the step before. One number read per step tells: with `clipNorm` the global
 * norm ‖g‖, otherwise Σ of every gradient entry; either is finite only if every entry is
 * (when it overflows with finite entries, an exact check decides, and with `clipNorm` an
 * overflowing norm also stops). The parameters are checked before each checkpoint and after
 * the last step: non-finite ones (a huge learning rate, an optimiser's bug) stop training
 * and are never saved. With `checkpoint` the error names the last step saved, whose
 * parameters were finite.
 */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const { variables, steps, clipNorm, evaluate, checkpoint, tokensPerStep, onStep } = opts;
  const startStep = opts.startStep ?? 0;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new Error(`fit: steps must be a non-negative integer, got ${steps}`);
  }
  if (!Number.isInteger(startStep) || startStep < 0 || startStep > steps) {
    throw new Error(`fit: startStep must be an integer in 0 … steps (${steps}), got ${startStep}`);
  }
  if (variables.length === 0) throw new Error("fit: no variables to train");
  if (clipNorm !== undefined) checkPositive(clipNorm, "fit: clipNorm");
  checkEvery(evaluate, "evaluate");
  checkEvery(checkpoint, "checkpoint");
  if (startStep > 0 && opts.optimizer?.step !== startStep) {
    throw new Error(
      `fit: resuming after step ${startStep}, but the optimizer has taken ${
        opts.optimizer?.step ?? 0
      } steps; pass the optimizer with its saved state restored (optimizer.setState)`,
    );
  }
  const optimizer = opts.optimizer ?? createOptimizer({ learningRate: 0.001 });
  const names = variables.map((x) => x.name);
  const losses: number[] = [];
  const evals: { step: number; value: number }[] = [];
  /** The last step whose parameters were saved; they were finite then. */
  let savedStep: number | undefined;
  /** The error for `what` at `step`, the parameters holding their values after step `kept`. */
  const stop = (what: string, step: number, kept = step - 1) => {
    const bad = nonFinite(variables, names);
    let message = `fit: ${what} at step ${step} of ${steps}; lower the learning rate, clip the ` +
      `gradients (clipNorm) or check the loss function. The parameters keep their values ` +
      `after step ${kept}` + (bad.length > 0 ? `, not finite in ${bad.join(", ")}` : "");
    if (checkpoint) {
      message += savedStep === undefined
        ? "; no checkpoint was saved in this run"
        : `; the last good checkpoint is from step ${savedStep}`;
    }
    return new Error(message);
  };
  const start = performance.now();
  try {
    for (let step = startStep + 1; step <= steps; step++) {
      const report: StepReport = { step, loss: NaN, elapsedMs: 0 };
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => opts.loss(step), [...variables]);
        let gs: Tensor[] = variables.map((x) => {
          const g = grads[x.name];
          if (!g) throw new Error(`fit: the loss does not depend on variable ${x.name}`);
          return g;
        });
        const probe = clipNorm !== undefined ? globalNorm(gs) : tf.addN(gs.map((g) => tf.sum(g)));
        const [loss, probed] = tf.stack([value, probe]).dataSync();
        report.loss = loss;
        if (!Number.isFinite(loss)) throw stop(`the loss is ${loss}`, step);
        if (!Number.isFinite(probed)) {
          const bad = nonFinite(gs, names);
          if (bad.length > 0) {
            throw stop(
              `the gradient is not finite (NaN or ±Infinity in ∂L/∂${
                bad.join(", ∂L/∂")
              }; the loss is ${loss})`,
              step,
            );
          }
          if (clipNorm !== undefined) {
            throw stop(`the gradient norm overflows float32 (${probed})`, step);
          }
        }
        if (clipNorm !== undefined) {
          gs = rescale(gs, probed, clipNorm);
          report.gradNorm = probed;
        }
        optimizer.applyGradients(variables, gs);
      });
      losses.push(report.loss);
      const save = checkpoint && (step % checkpoint.every === 0 || step === steps);
      if (save || step === steps) {
        const bad = nonFinite(variables, names);
        if (bad.length > 0) {
          throw stop(`the update left ${bad.join(", ")} not finite`, step, step);
        }
      }
      if (evaluate && (step % evaluate.every === 0 || step === steps)) {
        report.evalLoss = await evaluate.fn();
        evals.push({ step, value: report.evalLoss });
      }
      if (save) {
        await checkpoint.save(step);
        savedStep = step;
      }
      report.elapsedMs = performance.now() - start;
      if (tokensPerStep !== undefined && report.elapsedMs > 0) {
        report.tokensPerSecond = tokensPerStep * (step - startStep) / (report.elapsedMs / 1000);
      }
      await onStep?.(report);
    }
  } finally {
    if (!opts.optimizer) optimizer.dispose();
  }
  return { losses, evals };
}

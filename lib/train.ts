/**
 * Training, shared by every chapter: the Adam optimiser, gradient clipping, shuffled batches
 * and the loop {@link fit} that ties them together. Nothing here draws; a chapter passes
 * `onStep` a display (`trainingMonitor` from the display layer) to watch the loss fall.
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

/** Updates parameters from their gradients, keeping whatever state it needs between steps. */
export interface Optimizer {
  /** How many updates it has applied: the t of the last update. */
  readonly step: number;
  /** Applies one update: `grads[i]` is ∂L/∂`variables[i]`, of the same shape. */
  applyGradients(variables: readonly Variable[], grads: readonly Tensor[]): void;
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
 * learning rate can follow a schedule and later chapters can extend the rule.
 */
export function createOptimizer(opts: AdamOptions): Optimizer {
  const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = opts;
  if (typeof learningRate !== "function") checkPositive(learningRate, "learningRate");
  checkPositive(beta1, "beta1", 1);
  checkPositive(beta2, "beta2", 1);
  checkPositive(epsilon, "epsilon");
  const moments = new Map<Variable, { m: Variable; v: Variable }>();
  let t = 0;
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
      t++;
      tf.tidy(() => {
        variables.forEach((theta, i) => {
          let state = moments.get(theta);
          if (!state) {
            state = {
              m: tf.variable(tf.zerosLike(theta), false),
              v: tf.variable(tf.zerosLike(theta), false),
            };
            moments.set(theta, state);
          }
          const g = grads[i];
          state.m.assign(tf.add(tf.mul(state.m, beta1), tf.mul(g, 1 - beta1)));
          state.v.assign(tf.add(tf.mul(state.v, beta2), tf.mul(tf.square(g), 1 - beta2)));
          const mHat = tf.div(state.m, 1 - Math.pow(beta1, t));
          const vHat = tf.div(state.v, 1 - Math.pow(beta2, t));
          theta.assign(tf.sub(theta, tf.mul(alpha, tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)))));
        });
      });
    },
    dispose() {
      for (const { m, v } of moments.values()) tf.dispose([m, v]);
      moments.clear();
    },
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
  const norm = grads.length === 0
    ? 0
    : tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  return { grads: grads.map((g) => tf.mul(g, scale)), norm };
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

/** What {@link fit} reports after each step. */
export interface StepReport {
  /** The step just taken, 1 … steps. */
  step: number;
  /** The training loss of this step (before its update). */
  loss: number;
  /** The evaluation's value, on the steps where it ran. */
  evalLoss?: number;
  /** ‖g‖ before clipping, when `clipNorm` is set. */
  gradNorm?: number;
  /** Milliseconds since training started. */
  elapsedMs: number;
}

/** Settings of {@link fit}. */
export interface FitOptions {
  /** The parameters to train. */
  variables: readonly Variable[];
  /** How many updates to apply. */
  steps: number;
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
  /** Called after each step, awaited (a display, a log). */
  onStep?: (report: StepReport) => void | Promise<void>;
}

/** What {@link fit} returns. */
export interface FitResult {
  /** The training loss of every step. */
  losses: number[];
  /** The evaluations, with the step after which each ran. */
  evals: { step: number; value: number }[];
}

/**
 * Gradient descent: for step = 1 … steps, L = loss(step), g = ∂L/∂θ (`tf.variableGrads`),
 * optionally g ← clip(g), then θ ← optimizer(θ, g). No tensor outlives its step. Stops with
 * an error naming the step as soon as the loss (or the gradient norm) is NaN or infinite,
 * before that step's update, so the parameters keep their last finite values.
 */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const { variables, steps, clipNorm, evaluate, onStep } = opts;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new Error(`fit: steps must be a non-negative integer, got ${steps}`);
  }
  if (variables.length === 0) throw new Error("fit: no variables to train");
  if (evaluate && !(Number.isInteger(evaluate.every) && evaluate.every > 0)) {
    throw new Error(`fit: evaluate.every must be a positive integer, got ${evaluate.every}`);
  }
  const optimizer = opts.optimizer ?? createOptimizer({ learningRate: 0.001 });
  const losses: number[] = [];
  const evals: { step: number; value: number }[] = [];
  const start = performance.now();
  try {
    for (let step = 1; step <= steps; step++) {
      const report: StepReport = { step, loss: NaN, elapsedMs: 0 };
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => opts.loss(step), [...variables]);
        report.loss = value.dataSync()[0];
        if (!Number.isFinite(report.loss)) {
          throw new Error(
            `fit: the loss is ${report.loss} at step ${step} of ${steps}; lower the learning ` +
              `rate, clip the gradients (clipNorm) or check the loss function`,
          );
        }
        let gs: Tensor[] = variables.map((x) => {
          const g = grads[x.name];
          if (!g) throw new Error(`fit: the loss does not depend on variable ${x.name}`);
          return g;
        });
        if (clipNorm !== undefined) {
          const clipped = clipByGlobalNorm(gs, clipNorm);
          if (!Number.isFinite(clipped.norm)) {
            throw new Error(
              `fit: the gradient norm is ${clipped.norm} at step ${step} of ${steps}`,
            );
          }
          gs = clipped.grads;
          report.gradNorm = clipped.norm;
        }
        optimizer.applyGradients(variables, gs);
      });
      losses.push(report.loss);
      if (evaluate && (step % evaluate.every === 0 || step === steps)) {
        report.evalLoss = await evaluate.fn();
        evals.push({ step, value: report.evalLoss });
      }
      report.elapsedMs = performance.now() - start;
      await onStep?.(report);
    }
  } finally {
    if (!opts.optimizer) optimizer.dispose();
  }
  return { losses, evals };
}

/**
 * The training display every chapter shares: a progress bar and a loss curve that follow a
 * training loop. It plugs into `fit`'s `onStep` (lib/train.ts), which knows nothing about it.
 *
 * ```ts
 * const monitor = await trainingMonitor(steps, { title: "translator", evalName: "test loss" });
 * await fit({ variables, steps, loss, evaluate, onStep: (s) => monitor.update(s) });
 * await monitor.finish({ "exact match": 0.97 });
 * ```
 *
 * @module
 */
import type { Displayable } from "./types.ts";
import { inJupyter } from "./env.ts";
import { lineChart } from "./charts.ts";
import { live, progress, show } from "./display.ts";

/** One step as {@link TrainingMonitor.update} receives it (`fit`'s step report fits). */
export interface MonitorStep {
  /** The step just taken, 1 … total. */
  step: number;
  /** Its training loss. */
  loss: number;
  /** The evaluation's value, on the steps where one ran. */
  evalLoss?: number;
  /** Training tokens per second (`fit` reports it when given `tokensPerStep`); shown when set. */
  tokensPerSecond?: number;
}

/** A live view of a training run. */
export interface TrainingMonitor {
  /** Records a step; redraws when enough has changed. */
  update(s: MonitorStep): Promise<void>;
  /** Draws the final state: the bar with the last values and `info`, and the whole curve. */
  finish(info?: Record<string, string | number>): Promise<void>;
}

/** Options of {@link trainingMonitor}. */
export interface TrainingMonitorOptions {
  /** The label of the bar and the title of the curve, e.g. `"training the translator"`. */
  title: string;
  /** The name of the evaluated series (default `"eval"`), e.g. `"held-out loss"`. */
  evalName?: string;
  /** The y axis title (default `"loss"`). */
  yTitle?: string;
}

/** The most points per series drawn; longer runs are drawn at every k-th step. */
const MAX_POINTS = 500;
/** Redraw the Jupyter curve after at least this fraction of the steps… */
const REDRAW_FRACTION = 0.02;
/** …and at least this many milliseconds. */
const REDRAW_MS = 500;

/** Every k-th point (and the last), so that at most {@link MAX_POINTS} remain. */
function thin(x: number[], y: number[]): { x: number[]; y: number[] } {
  const k = Math.ceil(x.length / MAX_POINTS);
  if (k <= 1) return { x, y };
  const keep = x.map((_, i) => i).filter((i) => i % k === 0 || i === x.length - 1);
  return { x: keep.map((i) => x[i]), y: keep.map((i) => y[i]) };
}

/**
 * Follows a training run of `total` steps. In Jupyter: a progress bar and a loss curve (the
 * training loss at every step, the evaluations as a second series) updated in place, the
 * curve at most once per 2% of the steps and per 0.5 s, and at `finish`. In a terminal: the
 * progress bar with the latest loss, evaluation, steps per second and (when the steps carry
 * it) tokens per second, then at `finish` the final curve.
 */
export async function trainingMonitor(
  total: number,
  opts: TrainingMonitorOptions,
): Promise<TrainingMonitor> {
  const evalName = opts.evalName ?? "eval";
  const train = { x: [] as number[], y: [] as number[] };
  const evals = { x: [] as number[], y: [] as number[] };
  const chart = (): Displayable =>
    lineChart([
      { name: "training loss", ...thin(train.x, train.y) },
      ...(evals.x.length > 0 ? [{ name: evalName, ...evals }] : []),
    ], { title: opts.title, xTitle: "step", yTitle: opts.yTitle ?? "loss" });
  const bar = await progress(total, opts.title);
  const plot = inJupyter ? await live(chart()) : undefined;
  const start = performance.now();
  let drawnStep = 0;
  let drawnAt = start;
  let tokensPerSecond: number | undefined;
  const info = (): Record<string, string | number> => {
    const out: Record<string, string | number> = {};
    if (train.y.length > 0) out.loss = train.y[train.y.length - 1];
    if (evals.y.length > 0) out[evalName] = evals.y[evals.y.length - 1];
    const seconds = (performance.now() - start) / 1000;
    // Updates seen, not the step number: a resumed run starts at a later step.
    if (seconds > 0 && train.x.length > 0) out["steps/s"] = train.x.length / seconds;
    if (tokensPerSecond !== undefined) out["tokens/s"] = tokensPerSecond;
    return out;
  };
  return {
    async update(s) {
      train.x.push(s.step);
      train.y.push(s.loss);
      tokensPerSecond = s.tokensPerSecond ?? tokensPerSecond;
      if (s.evalLoss !== undefined) {
        evals.x.push(s.step);
        evals.y.push(s.evalLoss);
      }
      await bar.tick(s.step, info());
      const now = performance.now();
      if (plot && s.step - drawnStep >= REDRAW_FRACTION * total && now - drawnAt >= REDRAW_MS) {
        drawnStep = s.step;
        drawnAt = now;
        await plot.update(chart());
      }
    },
    async finish(extra = {}) {
      await bar.finish({ ...info(), ...extra });
      if (plot) await plot.update(chart());
      else await show(chart());
    },
  };
}

/** A {@link TrainingMonitor} that appears only if training starts: see {@link monitorOnDemand}. */
export interface MonitorOnDemand {
  /** Records a step, creating the monitor at the first one (pass as `fit`'s `onStep`). */
  onStep(s: MonitorStep): Promise<void>;
  /** Finishes the monitor if one was created; nothing otherwise. */
  finish(info?: Record<string, string | number>): Promise<void>;
}

/**
 * A training monitor created at the first step it sees: for work that may train or may read a
 * cached result (a model loaded from a checkpoint, else built), so that a progress bar and a
 * curve appear exactly when something trains.
 */
export function monitorOnDemand(total: number, opts: TrainingMonitorOptions): MonitorOnDemand {
  let monitor: TrainingMonitor | undefined;
  return {
    async onStep(s) {
      monitor ??= await trainingMonitor(total, opts);
      await monitor.update(s);
    },
    async finish(info) {
      await monitor?.finish(info);
    },
  };
}

/**
 * The fast path: the few operations a Transformer spends its time in, written so that the
 * wasm backend runs them in XNNPACK, each with a hand-written gradient.
 *
 * - {@link matMul2d}: a plain 2-D matrix product. tfjs-backend-wasm uses XNNPACK only for
 *   2-D products without transpose flags, and the gradients tfjs derives for `tf.matMul`
 *   use those flags; here forward and backward transpose explicitly instead.
 * - {@link batchedMatMul}: attention's batched products QKᵀ and AV as one depthwise
 *   convolution (wasm has no backward kernels for it, hence the custom gradient).
 * - {@link gelu}, {@link layerNormCore}, {@link stableSoftmax}: element-wise maths with
 *   backward passes written out, cheaper than the ones tfjs derives.
 * - {@link linear} and {@link initLinear}: the affine layer y = xW + b every model is made
 *   of, on {@link matMul2d}; {@link deriveSeeds} gives each part of a model its own seed.
 * - With the system's OpenBLAS loaded (blas.ts), the products and {@link columnSums} run
 *   as `cblas_sgemm` calls on the operands in place, transposes included.
 * - When no gradient is being recorded ({@link recordingGradients} is false: generation,
 *   evaluation), every kernel runs its forward formula as plain tfjs ops instead, with the
 *   bias fused into the product: no `tf.customGrad` and its fixed cost per call, which is
 *   what dominates when a step handles one token. Callers never choose: the same function
 *   serves training and generation.
 *
 * Every function computes exactly the formula in its comment; the tests compare each one
 * (value and gradient) with tfjs's plain ops and with finite differences.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable1D, Variable2D } from "./tf_types.ts";
import { assertRank, makeRng, shapeText, tidyRecord } from "./tensor.ts";
import { nativeBlas, nativeGemm } from "./blas.ts";

/**
 * Whether tfjs is recording operations for a gradient (inside `tf.grad`,
 * `tf.variableGrads`, an optimiser's `minimize`). When it is not, the kernels below skip
 * their custom gradients and run plain ops.
 */
export function recordingGradients(): boolean {
  return tf.engine().isTapeOn();
}

/**
 * A·B, A·Bᵀ, Aᵀ·B for 2-D tensors: with OpenBLAS loaded, one `cblas_sgemm` call that reads
 * the operands transposed in place (blas.ts); otherwise plain `tf.matMul` calls without
 * transpose flags on explicitly transposed operands (XNNPACK's fast path).
 */
function product2d(a: Tensor2D, b: Tensor2D, transposeA: boolean, transposeB: boolean): Tensor2D {
  if (nativeBlas()) return nativeGemm(a, b, transposeA, transposeB) as Tensor2D;
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

/**
 * C = op(A)·op(B) computed by `product`, with its gradient written out as two more such
 * products: ∂L/∂A = ∂L/∂C·Bᵀ and ∂L/∂B = Aᵀ·∂L/∂C (for A·Bᵀ: ∂L/∂B = (∂L/∂C)ᵀ·A).
 */
function withProductGradient<T extends Tensor>(
  product: (a: T, b: T, transposeA: boolean, transposeB: boolean) => T,
  a: T,
  b: T,
  transposeB: boolean,
): T {
  const f = tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)([a as T, b as T]);
    return {
      value: product(a as T, b as T, false, transposeB),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sa, sb] = saved as T[];
        const dC = dy as T;
        return transposeB
          ? [product(dC, sb, false, false), product(dC, sa, true, false)]
          : [product(dC, sb, false, true), product(sa, dC, true, false)];
      },
    };
  });
  return f(a, b) as T;
}

/**
 * C = A·B (or A·Bᵀ when `transposeB`) for A [M, K] and B [K, N] (or [N, K]), on the
 * XNNPACK fast path: forward and backward use only plain 2-D `tf.matMul` on explicitly
 * transposed operands. Gradients: ∂L/∂A = ∂L/∂C·Bᵀ and ∂L/∂B = Aᵀ·∂L/∂C (for A·Bᵀ:
 * ∂L/∂B = (∂L/∂C)ᵀ·A).
 *
 * Throws when the inner dimensions differ, naming both shapes.
 */
export function matMul2d(a: Tensor2D, b: Tensor2D, transposeB = false): Tensor2D {
  assertRank(a, 2, "matMul2d: A");
  assertRank(b, 2, "matMul2d: B");
  const inner = transposeB ? b.shape[1] : b.shape[0];
  if (a.shape[1] !== inner) {
    throw new Error(
      `matMul2d: A ${shapeText(a)} and B${transposeB ? "ᵀ" : ""} ${
        shapeText(b)
      } do not fit: A has ${a.shape[1]} columns, B${transposeB ? "ᵀ" : ""} has ${inner} rows`,
    );
  }
  checkFloat("matMul2d", [["A", a], ["B", b]]);
  if (!recordingGradients()) return product2d(a, b, false, transposeB);
  return withProductGradient(product2d, a, b, transposeB);
}

/**
 * A linear (affine) layer y = xW + b applied to the last axis: x [..., in], W [in, out],
 * b [out] → y [..., out]. The leading axes are flattened into rows so the product is one
 * {@link matMul2d}.
 *
 * Throws when x's last axis is not W's input width, naming both.
 */
export function linear(x: Tensor, W: Tensor2D, b?: Tensor1D): Tensor {
  assertRank(W, 2, "linear: W");
  const inDim = x.shape[x.rank - 1];
  const [rows, out] = W.shape;
  if (x.rank < 1 || inDim !== rows) {
    throw new Error(
      `linear: x ${shapeText(x)} has last axis ${inDim} but W ${shapeText(W)} expects ${rows}`,
    );
  }
  if (b && (b.rank !== 1 || b.shape[0] !== out)) {
    throw new Error(`linear: bias b ${shapeText(b)} does not match W's output width ${out}`);
  }
  checkFloat("linear", b ? [["x", x], ["W", W], ["b", b]] : [["x", x], ["W", W]]);
  return tidyRecord(() => {
    const rows = x.reshape([-1, inDim]) as Tensor2D;
    const y = !recordingGradients()
      ? (nativeBlas()
        ? nativeGemm(rows, W, false, false, b)
        : tf.fused.matMul({ a: rows, b: W, bias: b }))
      : b
      ? addBias(matMul2d(rows, W), b)
      : matMul2d(rows, W);
    return y.reshape([...x.shape.slice(0, -1), out]);
  });
}

/**
 * Σᵢ X[i, :], the sum of the rows of X [M, N] → [N]: with OpenBLAS loaded the product
 * 1ᵀ·X (one `cblas_sgemm` with a row of ones), otherwise `tf.sum(X, 0)`. Bias and
 * LayerNorm gradients are such sums over every position of a batch.
 */
export function columnSums(x: Tensor2D): Tensor1D {
  assertRank(x, 2, "columnSums: X");
  if (!nativeBlas()) return tf.sum(x, 0);
  return tidyRecord(() =>
    nativeGemm(tf.ones([1, x.shape[0]]), x).reshape([x.shape[1]]) as Tensor1D
  );
}

/**
 * y = Y + b for Y [M, N] and a bias b [N] added to every row; gradients ∂L/∂Y = ∂L/∂y and
 * ∂L/∂b = Σᵢ ∂L/∂y[i, :] ({@link columnSums}).
 */
function addBias(y: Tensor2D, b: Tensor1D): Tensor2D {
  const f = tf.customGrad((y, b) => ({
    value: tf.add(y as Tensor2D, b as Tensor1D),
    gradFunc: (dy: Tensor) => [dy, columnSums(dy as Tensor2D)],
  }));
  return f(y, b) as Tensor2D;
}

/**
 * Lays A [G, M, K] (or [G, K, M] when `transposeA`) and B [G, K, N] (or [G, N, K]) out
 * as a depthwise convolution and returns C [G, M, N], C[g] = op(A[g])·op(B[g]).
 *
 * `tf.depthwiseConv2d` of an input [1, M, K, G] with a filter [1, K, G, N] ('valid',
 * stride 1) slides a 1×K window over each of the G channels: output[0, i, 0, g·N + n] =
 * Σₖ A[g][i][k]·B[g][k][n], which is C laid out [M, G, N].
 */
function groupedConvProduct(
  a: Tensor3D,
  b: Tensor3D,
  transposeA: boolean,
  transposeB: boolean,
): Tensor3D {
  const aMKG = tf.transpose(a, transposeA ? [2, 1, 0] : [1, 2, 0]);
  const bKGN = tf.transpose(b, transposeB ? [2, 0, 1] : [1, 0, 2]);
  const [M, K, G] = aMKG.shape;
  const N = bKGN.shape[2];
  const c = tf.depthwiseConv2d(
    aMKG.reshape([1, M, K, G]) as tf.Tensor4D,
    bKGN.reshape([1, K, G, N]) as tf.Tensor4D,
    1,
    "valid",
  );
  return tf.transpose(c.reshape([M, G, N]), [1, 0, 2]);
}

/**
 * The same product with tfjs's own batched matmul: on the cpu backend it is about twice as
 * fast as the convolution (measured: 16 ms against 31 ms for QKᵀ at 48 × 64 × 32).
 */
function plainBatchedProduct(
  a: Tensor3D,
  b: Tensor3D,
  transposeA: boolean,
  transposeB: boolean,
): Tensor3D {
  return tf.matMul(a, b, transposeA, transposeB);
}

/** The same product as one `cblas_sgemm` call per group, on the operands in place (blas.ts). */
function nativeBatchedProduct(
  a: Tensor3D,
  b: Tensor3D,
  transposeA: boolean,
  transposeB: boolean,
): Tensor3D {
  return nativeGemm(a, b, transposeA, transposeB) as Tensor3D;
}

/**
 * The batched product C[g] = A[g]·B[g] (or A[g]·B[g]ᵀ when `transposeB`) over any leading
 * axes g (attention's batch × heads; none for a single product): A [..., M, K], B [..., K, N] (or [..., N, K]) →
 * C [..., M, N]. With OpenBLAS loaded (blas.ts) it runs as one `cblas_sgemm` per group;
 * else on wasm as one depthwise convolution (XNNPACK), elsewhere as `tf.matMul`. The
 * gradient is written out as two more such products:
 * ∂L/∂A[g] = ∂L/∂C[g]·B[g]ᵀ, ∂L/∂B[g] = A[g]ᵀ·∂L/∂C[g] (for A·Bᵀ: (∂L/∂C[g])ᵀ·A[g]).
 *
 * Throws when the ranks, leading axes or inner dimensions differ, naming both shapes.
 */
export function batchedMatMul(a: Tensor, b: Tensor, transposeB = false): Tensor {
  const inner = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  const lead = a.shape.slice(0, -2);
  if (
    a.rank < 2 || b.rank !== a.rank || b.shape.slice(0, -2).join() !== lead.join() ||
    a.shape[a.rank - 1] !== inner
  ) {
    throw new Error(
      `batchedMatMul: A ${shapeText(a)} and B${transposeB ? "ᵀ" : ""} ${
        shapeText(b)
      } do not fit (expected A [..., M, K] and B ${
        transposeB ? "[..., N, K]" : "[..., K, N]"
      } with the same leading axes)`,
    );
  }
  checkFloat("batchedMatMul", [["A", a], ["B", b]]);
  if (!recordingGradients() && nativeBlas()) return nativeGemm(a, b, false, transposeB);
  const G = lead.reduce((x, y) => x * y, 1);
  const [M, N] = [a.shape[a.rank - 2], transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]];
  const product = nativeBlas()
    ? nativeBatchedProduct
    : tf.getBackend() === "wasm" && M > 1
    ? groupedConvProduct
    : plainBatchedProduct;
  return tidyRecord(() => {
    const a3 = a.reshape([G, M, a.shape[a.rank - 1]]) as Tensor3D;
    const b3 = b.reshape([G, ...b.shape.slice(-2)]) as Tensor3D;
    if (!recordingGradients()) return product(a3, b3, false, transposeB).reshape([...lead, M, N]);
    return withProductGradient(product, a3, b3, transposeB).reshape([...lead, M, N]);
  });
}

/** Throws unless every named tensor is float32 (token ids belong in an embedding first). */
export function checkFloat(fn: string, tensors: readonly (readonly [string, Tensor])[]): void {
  for (const [name, t] of tensors) {
    if (t.dtype !== "float32") {
      throw new Error(
        `${fn}: ${name} ${shapeText(t)} must be float32, got ${t.dtype}` +
          (t.dtype === "int32" ? " (token ids go through an embedding first)" : ""),
      );
    }
  }
}

const INV_SQRT2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The exact GELU of GPT-2 and BERT: GELU(x) = x·Φ(x), with Φ(x) = ½(1 + erf(x/√2)) the
 * standard normal CDF (not the tanh approximation; `erf` is also faster on wasm).
 * Backward: GELU′(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
 */
export function gelu(x: Tensor): Tensor {
  const normalCdf = (xt: Tensor) => tf.mul(0.5, tf.add(1, tf.erf(tf.mul(xt, INV_SQRT2))));
  if (!recordingGradients()) return tidyRecord(() => tf.mul(x, normalCdf(x)));
  const f = tf.customGrad((x, save) => {
    const xt = x as Tensor;
    const cdf = normalCdf(xt);
    // Φ(x) is kept for the backward pass instead of a second erf (the same values, bit for bit)
    (save as tf.GradSaveFunc)([xt, cdf]);
    return {
      value: tf.mul(xt, cdf),
      gradFunc: (dy: Tensor, [sx, phi]: Tensor[]) => {
        const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(sx))));
        return tf.mul(dy, tf.add(phi, tf.mul(sx, pdf)));
      },
    };
  });
  return f(x);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_CUBIC = 0.044715;

/**
 * The tanh approximation of GELU that GPT-1's and GPT-2's original code use (Hugging Face's
 * "gelu_new"): GELU(x) ≈ ½x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³). It differs from the
 * exact {@link gelu} by at most ~4.7e-4; loading GPT-2's weights needs it to reproduce GPT-2's
 * logits exactly. Backward: ½(1 + tanh u) + ½x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715x²).
 */
export function geluTanh(x: Tensor): Tensor {
  const tanhU = (xt: Tensor) =>
    tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(xt, tf.mul(GELU_TANH_CUBIC, tf.pow(xt, 3)))));
  if (!recordingGradients()) return tidyRecord(() => tf.mul(tf.mul(0.5, x), tf.add(1, tanhU(x))));
  const f = tf.customGrad((x, save) => {
    const xt = x as Tensor;
    const t = tanhU(xt);
    (save as tf.GradSaveFunc)([xt, t]);
    return {
      value: tf.mul(tf.mul(0.5, xt), tf.add(1, t)),
      gradFunc: (dy: Tensor, [sx, st]: Tensor[]) => {
        const du = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * GELU_TANH_CUBIC, tf.square(sx))));
        const dt = tf.mul(tf.mul(0.5, sx), tf.mul(tf.sub(1, tf.square(st)), du));
        return tf.mul(dy, tf.add(tf.mul(0.5, tf.add(1, st)), dt));
      },
    };
  });
  return f(x);
}

/**
 * The feed-forward network's nonlinearity: `"relu"` (max(0, x), the original Transformer),
 * `"gelu"` (exact x·Φ(x)) or `"gelu_tanh"` (GPT-1's and GPT-2's tanh approximation).
 */
export type Activation = "relu" | "gelu" | "gelu_tanh";

/** Every {@link Activation}, for validation and error messages. */
export const ACTIVATIONS: readonly Activation[] = ["relu", "gelu", "gelu_tanh"];

/** Throws unless `name` is one of {@link ACTIVATIONS}, naming the allowed values. */
export function checkActivation(name: unknown, fn: string): asserts name is Activation {
  if (!ACTIVATIONS.includes(name as Activation)) {
    throw new Error(
      `${fn}: activation must be one of ${ACTIVATIONS.map((a) => `"${a}"`).join(", ")}, got ${
        JSON.stringify(name)
      }`,
    );
  }
}

/** act(x) for the named {@link Activation}: ReLU, {@link gelu} or {@link geluTanh}. */
export function activate(x: Tensor, activation: Activation): Tensor {
  checkActivation(activation, "activate");
  return activation === "gelu" ? gelu(x) : activation === "gelu_tanh" ? geluTanh(x) : tf.relu(x);
}

/**
 * Layer normalisation over the last axis:
 *
 *   μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ)/√(σ² + ε),  y = γ ⊙ x̂ + β
 *
 * with γ, β of shape [d] for x [..., d]. Backward, per row with r = 1/√(σ² + ε) and
 * g = ∂L/∂y ⊙ γ: ∂L/∂x = r·(g − mean(g) − x̂·mean(g ⊙ x̂)); ∂L/∂γ = Σ ∂L/∂y ⊙ x̂;
 * ∂L/∂β = Σ ∂L/∂y (sums over every row).
 *
 * Throws when γ or β does not match x's last axis, naming both shapes.
 */
export function layerNormCore(x: Tensor, gamma: Tensor1D, beta: Tensor1D, eps = 1e-5): Tensor {
  const d = x.shape[x.rank - 1];
  for (const [name, p] of [["γ", gamma], ["β", beta]] as const) {
    if (p.rank !== 1 || p.shape[0] !== d) {
      throw new Error(
        `layerNorm: ${name} ${shapeText(p)} does not match x ${shapeText(x)} (last axis ${d})`,
      );
    }
  }
  checkFloat("layerNorm", [["x", x]]);
  const normalise = (xt: Tensor) => {
    const centred = tf.sub(xt, tf.mean(xt, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    return { xhat: tf.mul(centred, rstd), rstd };
  };
  if (!recordingGradients()) {
    return tidyRecord(() => tf.add(tf.mul(normalise(x).xhat, gamma), beta));
  }
  const f = tf.customGrad((x, gamma, beta, save) => {
    const { xhat, rstd } = normalise(x as Tensor);
    (save as tf.GradSaveFunc)([xhat, rstd, gamma as Tensor]);
    return {
      value: tf.add(tf.mul(xhat, gamma as Tensor), beta as Tensor),
      gradFunc: (dy: Tensor, [sxhat, srstd, sgamma]: Tensor[]) => {
        const g = tf.mul(dy, sgamma);
        const dx = tf.mul(
          srstd,
          tf.sub(
            tf.sub(g, tf.mean(g, -1, true)),
            tf.mul(sxhat, tf.mean(tf.mul(g, sxhat), -1, true)),
          ),
        );
        const rows = (t: Tensor) => t.reshape([-1, d]) as Tensor2D;
        return [dx, columnSums(rows(tf.mul(dy, sxhat))), columnSums(rows(dy))];
      },
    };
  });
  return f(x, gamma, beta);
}

/**
 * Softmax over the last axis, computed stably: softmax(x)ᵢ = exp(xᵢ − m)/Σⱼ exp(xⱼ − m)
 * with m the row maximum, so scores of ±10⁴ (or a −10⁹ mask) never overflow. Backward:
 * ∂L/∂x = y ⊙ (∂L/∂y − Σⱼ yⱼ·∂L/∂yⱼ).
 */
export function stableSoftmax(x: Tensor): Tensor {
  checkFloat("stableSoftmax", [["x", x]]);
  // tfjs's softmax kernels subtract the row maximum themselves; doing it here too keeps the
  // training path independent of that detail, and costs two ops only where gradients are
  if (!recordingGradients()) return tf.softmax(x);
  const f = tf.customGrad((x, save) => {
    const xt = x as Tensor;
    const y = tf.softmax(tf.sub(xt, tf.max(xt, -1, true)));
    (save as tf.GradSaveFunc)([y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, [sy]: Tensor[]) =>
        tf.mul(sy, tf.sub(dy, tf.sum(tf.mul(dy, sy), -1, true))),
    };
  });
  return f(x);
}

/** The parameters of one linear layer y = xW + b. */
export interface LinearParams {
  /** The weight matrix W ∈ ℝ^{in×out}. */
  W: Variable2D;
  /** The bias b ∈ ℝ^{out}. */
  b: Variable1D;
}

/**
 * A fresh linear layer for {@link linear}: W drawn from N(0, σ²) with the Glorot scale
 * σ = √(2/(in + out)) (so activations keep roughly unit variance), b = 0; reproducible from
 * `seed`.
 */
export function initLinear(inDim: number, outDim: number, seed: number): LinearParams {
  for (const [name, v] of [["inDim", inDim], ["outDim", outDim]] as const) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`initLinear: ${name} must be a positive integer, got ${v}`);
    }
  }
  const std = Math.sqrt(2 / (inDim + outDim));
  // tidy frees the starting tensors; the variables keep their own copies
  return tidyRecord(() => ({
    W: tf.variable(tf.randomNormal([inDim, outDim], 0, std, "float32", seed)) as Variable2D,
    b: tf.variable(tf.zeros([outDim])) as Variable1D,
  }));
}

/**
 * `n` independent integer seeds drawn from one `seed` (with {@link makeRng}), for models
 * whose parts each need their own: the same `seed` always gives the same list.
 */
export function deriveSeeds(seed: number, n: number): number[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng() * 2 ** 31));
}

/**
 * Inverted dropout (Srivastava et al. 2014): each value is kept with probability 1 − p and
 * scaled by 1/(1 − p), or set to 0, so E[dropout(x)] = x; the mask is drawn from `seed`
 * (same seed, same mask).
 */
export function dropout(x: Tensor, rate: number, seed: number | string): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return x;
  return tidyRecord(() => {
    const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", seed), rate);
    return tf.mul(x, tf.div(keep.toFloat(), 1 - rate));
  });
}

/**
 * A dropout function drawing a fresh mask per call, all from one seed (call i uses
 * `${seed}/${i}`), for one training forward pass; the identity when `seed` is undefined or
 * the rate is 0 (inference).
 */
export function seededDropout(rate: number, seed: number | undefined): (x: Tensor) => Tensor {
  if (!(rate >= 0 && rate < 1)) {
    throw new Error(`seededDropout: rate must be in [0, 1), got ${rate}`);
  }
  if (seed === undefined || rate === 0) return (x) => x;
  let call = 0;
  return (x) => dropout(x, rate, `${seed}/${call++}`);
}

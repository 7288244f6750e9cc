/**
 * TensorFlow.js's tensor types under short names, for the kernel's signatures.
 *
 * They are marked `@internal` so that `deno doc --lint mod.ts` accepts public functions
 * that take and return tfjs tensors: the types themselves are documented by TensorFlow.js
 * (https://js.tensorflow.org/api/latest/), and Deno 2.9's doc linter would otherwise ask
 * this project to re-export and document all of tfjs.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * A TensorFlow.js tensor of any rank.
 * @internal
 */
export type Tensor = tf.Tensor;
/**
 * A rank-0 tensor.
 * @internal
 */
export type Scalar = tf.Scalar;
/**
 * A rank-1 tensor.
 * @internal
 */
export type Tensor1D = tf.Tensor1D;
/**
 * A rank-2 tensor.
 * @internal
 */
export type Tensor2D = tf.Tensor2D;
/**
 * A trainable tensor of any rank.
 * @internal
 */
export type Variable = tf.Variable;
/**
 * A trainable rank-2 tensor (an embedding matrix, a weight matrix).
 * @internal
 */
export type Variable2D = tf.Variable<tf.Rank.R2>;
/**
 * A rank-3 tensor (a batch of matrices, a batch of sequences of vectors).
 * @internal
 */
export type Tensor3D = tf.Tensor3D;
/**
 * A rank-4 tensor (attention weights [batch, heads, queries, keys]).
 * @internal
 */
export type Tensor4D = tf.Tensor4D;
/**
 * A trainable rank-1 tensor (a bias, a layer norm's γ or β).
 * @internal
 */
export type Variable1D = tf.Variable<tf.Rank.R1>;

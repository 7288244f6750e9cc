/**
 * A small stand-in for `jsr:@std/assert@1`, written over `node:assert`, because JSR cannot
 * be reached from this project's machines. It has the same names and signatures for the
 * part of the API the tests use. Where JSR is reachable, change the one line in deno.json
 * `"@std/assert": "./testing/std_assert.ts"` to `"@std/assert": "jsr:@std/assert@1"`;
 * nothing else changes.
 *
 * @module
 */
import nodeAssert from "node:assert";
import { inspect } from "node:util";

/** Thrown by every assertion here, like `@std/assert`'s `AssertionError`. */
export class AssertionError extends Error {
  /** Creates an assertion error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function suffix(msg?: string): string {
  return msg ? `: ${msg}` : "";
}

function show(x: unknown): string {
  return inspect(x, { depth: 6, colors: false, maxArrayLength: 50 });
}

/** Throws unless `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be truthy");
}

/** Throws: marks a branch that must never be reached. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

/** Deep structural equality (as `@std/assert`'s `assertEquals`), with a diff on failure. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch (e) {
    throw new AssertionError(
      `Values are not equal${suffix(msg)}\n${(e as Error).message}`,
    );
  }
}

/** Throws when `actual` and `expected` are deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  let equal = true;
  try {
    nodeAssert.deepStrictEqual(actual, expected);
  } catch {
    equal = false;
  }
  if (equal) throw new AssertionError(`Expected actual: ${show(actual)} not to be${suffix(msg)}`);
}

/** `Object.is` equality. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `Values are not strictly equal${suffix(msg)}\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/**
 * |actual − expected| ≤ tolerance; the default tolerance is 1e-7 relative to `expected`
 * (as in `@std/assert`).
 */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance?: number,
  msg?: string,
): void {
  if (Object.is(actual, expected)) return;
  const tol = tolerance ?? Math.abs(expected) * 1e-7;
  const delta = Math.abs(expected - actual);
  if (!(delta <= tol)) {
    throw new AssertionError(
      `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tol}"${
        suffix(msg)
      }`,
    );
  }
}

/** Throws unless `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) {
    throw new AssertionError(`Expect ${show(actual)} > ${show(expected)}${suffix(msg)}`);
  }
}

/** Throws unless `actual >= expected`. */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual >= expected)) {
    throw new AssertionError(`Expect ${show(actual)} >= ${show(expected)}${suffix(msg)}`);
  }
}

/** Throws unless `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) {
    throw new AssertionError(`Expect ${show(actual)} < ${show(expected)}${suffix(msg)}`);
  }
}

/** Throws unless `actual <= expected`. */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual <= expected)) {
    throw new AssertionError(`Expect ${show(actual)} <= ${show(expected)}${suffix(msg)}`);
  }
}

/** Throws unless `actual` matches the regular expression. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) {
    throw new AssertionError(
      `Expected actual: "${actual}" to match: "${expected}"${suffix(msg)}`,
    );
  }
}

/** Throws unless `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      `Expected actual: "${actual}" to contain: "${expected}"${suffix(msg)}`,
    );
  }
}

/** Throws unless every item of `expected` is deeply equal to some item of `actual`. */
export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const have = Array.from(actual);
  const missing = Array.from(expected).filter((e) =>
    !have.some((a) => {
      try {
        nodeAssert.deepStrictEqual(a, e);
        return true;
      } catch {
        return false;
      }
    })
  );
  if (missing.length) {
    throw new AssertionError(
      `Expected actual: ${show(have)} to include: ${show(missing)}${suffix(msg)}`,
    );
  }
}

/** Throws unless `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(
      `Expected object to be an instance of "${expectedType.name}"${suffix(msg)}`,
    );
  }
}

/** Throws unless `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) {
    throw new AssertionError(msg || `Expected actual: "${actual}" to not be null or undefined.`);
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

function checkError(
  e: unknown,
  ErrorType: ErrorClass | undefined,
  msgIncludes: string | undefined,
  msg: string | undefined,
): void {
  if (ErrorType && !(e instanceof ErrorType)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorType.name}", but was "${
        (e as Error)?.constructor?.name
      }"${suffix(msg)}`,
    );
  }
  if (msgIncludes !== undefined) {
    const message = e instanceof Error ? e.message : String(e);
    if (!message.includes(msgIncludes)) {
      throw new AssertionError(
        `Expected error message to include "${msgIncludes}", but got "${message}"${suffix(msg)}`,
      );
    }
  }
}

/**
 * Throws unless `fn` throws. With an error class (and optionally a substring of the
 * message), checks the thrown error too. Returns the thrown error.
 */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/** Throws unless `fn` throws an instance of `ErrorClass` whose message includes `msgIncludes`. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass: abstract new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows(
  fn: () => unknown,
  errorClassOrMsg?: ErrorClass | string,
  msgIncludes?: string,
  msg?: string,
): unknown {
  const ErrorType = typeof errorClassOrMsg === "function" ? errorClassOrMsg : undefined;
  const message = typeof errorClassOrMsg === "string" ? errorClassOrMsg : msg;
  try {
    fn();
  } catch (e) {
    checkError(e, ErrorType, msgIncludes, message);
    return e;
  }
  throw new AssertionError(`Expected function to throw${suffix(message)}`);
}

/** Async version of {@link assertThrows}: the promise returned by `fn` must reject. */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/** Async version of {@link assertThrows} with an error class and message substring. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass: abstract new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: ErrorClass | string,
  msgIncludes?: string,
  msg?: string,
): Promise<unknown> {
  const ErrorType = typeof errorClassOrMsg === "function" ? errorClassOrMsg : undefined;
  const message = typeof errorClassOrMsg === "string" ? errorClassOrMsg : msg;
  try {
    await fn();
  } catch (e) {
    checkError(e, ErrorType, msgIncludes, message);
    return e;
  }
  throw new AssertionError(`Expected function to reject${suffix(message)}`);
}

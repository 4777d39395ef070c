/**
 * Array helpers for arrays of any length. Spreading an array into a call (`a.push(...b)`,
 * `Math.max(...b)`) passes every element as an argument on the stack, which throws "Maximum call
 * stack size exceeded" somewhere past 100,000 elements; these loop instead. ESLint forbids spread
 * arguments in src/ so the fault cannot come back.
 */

/** Appends every item of `items` to `target` (in place) and returns `target`. */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}

/** The largest of `values`, or `floor` when it is larger (or there are no values). */
export function maxOf(values: Iterable<number>, floor = -Infinity): number {
  let max = floor;
  for (const value of values) if (value > max) max = value;
  return max;
}

/** The smallest of `values`, or `ceiling` when it is smaller (or there are no values). */
export function minOf(values: Iterable<number>, ceiling = Infinity): number {
  let min = ceiling;
  for (const value of values) if (value < min) min = value;
  return min;
}

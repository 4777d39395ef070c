import { describe, expect, it } from "vitest";
import { appendAll, maxOf, minOf } from "../../src/shared/arrays.js";

describe("array helpers for arrays of any length", () => {
  const huge = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);

  it("appends a million items where push(...items) overflows the stack", () => {
    expect(() => [].push(...(huge as never[]))).toThrow(RangeError);
    const target = [1, 2];
    expect(appendAll(target, huge)).toBe(target);
    expect(target.length).toBe(huge.length + 2);
    expect(target.slice(0, 4)).toEqual([1, 2, huge[0], huge[1]]);
    expect(target.at(-1)).toBe(huge.at(-1));
  });

  it("finds the largest and smallest of a million values, with a floor and a ceiling", () => {
    expect(maxOf(huge)).toBe(huge.reduce((a, b) => Math.max(a, b)));
    expect(minOf(huge)).toBe(huge.reduce((a, b) => Math.min(a, b)));
    expect(maxOf([], 0.5)).toBe(0.5);
    expect(maxOf([0.2, 0.3], 0.5)).toBe(0.5);
    expect(maxOf([0.2, 3], 0.5)).toBe(3);
    expect(minOf([4, 2, 9])).toBe(2);
    expect(minOf([], 7)).toBe(7);
  });
});

/**
 * Command-line checks shared by the benchmarks' entry points.
 * @module
 */

/** An integer option's value within [min, max]; throws naming the option otherwise. */
export function intOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name}: expected an integer ${min}–${max}, got "${value}"`);
  }
  return n;
}

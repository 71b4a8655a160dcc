/** The protocol's whole-number members (ttl, KV_EXPIRE's ms, KV_KEYS's limit). */

/** The longest expiry a request may ask for: ten years, in ms. */
export const MAX_TTL = 315_360_000_000;

/**
 * `n` when it is a whole number from `min` to `max`, else undefined. Any
 * JSON number of that value counts, however written: 1000, 1e3 and 1000.0.
 */
export function wholeNumber(n: number, min: number, max: number): number | undefined {
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** The whole number a JSON value's text holds, from `min` to `max`, or undefined for any other text. */
export function wholeNumberText(text: string, min: number, max: number): number | undefined {
  const c = text.charCodeAt(0);
  // A JSON number starts with a digit or '-'; Number() would also read "" and "0x10".
  if (!((c >= 0x30 && c <= 0x39) || c === 0x2d)) return undefined;
  return wholeNumber(Number(text), min, max);
}

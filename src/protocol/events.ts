/**
 * A change a store applied, as a watch's event describes it (KV_EVENT):
 * `value` is the whole value after the change, as stored.
 */
export type Change =
  | { readonly op: "set" | "append"; readonly key: string; readonly value: string }
  | { readonly op: "rmv" | "expire"; readonly key: string }
  | { readonly op: "clear" };

import { appendJson } from "../json/append.ts";
import { Status } from "../protocol/status.ts";
import type {
  AddStatus,
  AppendStatus,
  ContainsStatus,
  GetResult,
  RemoveStatus,
  SetStatus,
  Store,
} from "./store.ts";

/** The embedded store: one process, one Map, answers synchronously. */
export class MemoryStore implements Store {
  readonly description = "memory";
  #data = new Map<string, string>();

  set(keys: readonly string[], values: readonly string[]): SetStatus[] {
    const data = this.#data;
    const out: SetStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      // The size tells whether the key was new without a second lookup.
      const size = data.size;
      data.set(keys[i] as string, values[i] as string);
      out[i] = data.size > size ? Status.KeySet : Status.KeyUpdated;
    }
    return out;
  }

  add(keys: readonly string[], values: readonly string[]): AddStatus[] {
    const data = this.#data;
    const out: AddStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (data.has(key)) {
        out[i] = Status.KeyExists;
      } else {
        data.set(key, values[i] as string);
        out[i] = Status.KeySet;
      }
    }
    return out;
  }

  get(keys: readonly string[]): GetResult[] {
    const data = this.#data;
    const out: GetResult[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = data.get(keys[i] as string) ?? Status.KeyNotExist;
    }
    return out;
  }

  remove(keys: readonly string[]): RemoveStatus[] {
    const data = this.#data;
    const out: RemoveStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = data.delete(keys[i] as string) ? Status.KeyRemoved : Status.KeyNotExist;
    }
    return out;
  }

  contains(keys: readonly string[]): ContainsStatus[] {
    const data = this.#data;
    const out: ContainsStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = data.has(keys[i] as string) ? Status.KeyExists : Status.KeyNotExist;
    }
    return out;
  }

  append(keys: readonly string[], values: readonly string[]): AppendStatus[] {
    const data = this.#data;
    const out: AppendStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const stored = data.get(key);
      if (stored === undefined) {
        out[i] = Status.KeyNotExist;
        continue;
      }
      const combined = appendJson(stored, values[i] as string);
      if (combined === null) {
        out[i] = Status.ValueTypeInvalid;
      } else {
        data.set(key, combined);
        out[i] = Status.Ok;
      }
    }
    return out;
  }

  count(): number {
    return this.#data.size;
  }

  clear(): number {
    const n = this.#data.size;
    this.#data.clear();
    return n;
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

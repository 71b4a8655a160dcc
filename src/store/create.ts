import type { StoreConfig } from "../config/config.ts";
import { MemoryStore } from "./memory.ts";
import { connectRedis, RedisStore } from "./redis.ts";
import type { Store, StoreEvents } from "./store.ts";

/** The store the configuration names. */
export function createStore(config: StoreConfig, events?: StoreEvents): Store {
  switch (config.type) {
    case "memory":
      return new MemoryStore({ maxMemory: config.maxMemory }, events);
    case "redis":
      return new RedisStore(connectRedis(config), events);
    default:
      return config satisfies never;
  }
}

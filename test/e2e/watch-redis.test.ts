import { afterAll, beforeAll } from "bun:test";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { watchSuite } from "./watch-suite.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

watchSuite("one Redis", {
  args: () => [`--redis-url=${redis.url}`],
  redisPorts: () => [redis.port],
});

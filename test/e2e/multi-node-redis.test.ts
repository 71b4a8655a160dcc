import { afterAll, beforeAll } from "bun:test";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { multiNodeSuite } from "./multi-node-suite.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

multiNodeSuite("one Redis", () => [`--redis-url=${redis.url}`]);

import { afterAll, beforeAll } from "bun:test";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { protocolSuite } from "./protocol-suite.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

protocolSuite("one Redis", () => [`--redis-url=${redis.url}`]);

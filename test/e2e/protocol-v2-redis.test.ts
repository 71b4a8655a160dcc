import { afterAll, beforeAll } from "bun:test";
import { freePort, type RedisServer, startRedis } from "../support/redis.ts";
import { protocolV2Suite } from "./protocol-v2-suite.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

protocolV2Suite("one Redis", () => [`--redis-url=${redis.url}`], {
  // Nothing listens there: every store operation fails.
  args: () => [`--redis-url=redis://127.0.0.1:${freePort()}`],
  everything: true,
});

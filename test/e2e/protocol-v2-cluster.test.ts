import { afterAll, beforeAll } from "bun:test";
import { freePort, type RedisCluster, startRedisCluster } from "../support/redis.ts";
import { protocolV2Suite } from "./protocol-v2-suite.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster.stop());

protocolV2Suite(
  "a three-master Redis Cluster",
  () => [`--redis-cluster=${cluster.urls.join(",")}`],
  {
    // Nothing listens there: every store operation fails.
    args: () => [`--redis-cluster=redis://127.0.0.1:${freePort()}`],
    everything: true,
  },
);

import { afterAll, beforeAll } from "bun:test";
import { type RedisCluster, startRedisCluster } from "../support/redis.ts";
import { protocolSuite } from "./protocol-suite.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster.stop());

protocolSuite("a three-master Redis Cluster", () => [`--redis-cluster=${cluster.urls.join(",")}`]);

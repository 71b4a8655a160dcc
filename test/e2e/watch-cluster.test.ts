import { afterAll, beforeAll } from "bun:test";
import { type RedisCluster, startRedisCluster } from "../support/redis.ts";
import { watchSuite } from "./watch-suite.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster.stop());

watchSuite("a three-master Redis Cluster", {
  args: () => [`--redis-cluster=${cluster.urls.join(",")}`],
  redisPorts: () => cluster.nodes.map((node) => node.port),
  cluster: true,
});

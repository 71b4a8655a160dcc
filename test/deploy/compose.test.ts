import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { type Manifest, ROOT, readYamlOne } from "./manifests.ts";

const compose = readYamlOne(join(ROOT, "compose.yaml"));
const services = compose.services as Record<string, Manifest>;
const nodes = Object.entries(services).filter(([, s]) => s.build !== undefined);
const HAPROXY_CFG = join(ROOT, "deploy/haproxy/haproxy.cfg");

/** Compose's environment as a map, from either its list or its map form. */
function envOf(service: Manifest): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(
    (env as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

const seconds = (d: string) => {
  const m = /^(\d+)(s|m)$/.exec(d);
  if (!m) throw new Error(`unsupported duration ${d}`);
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
};

describe("compose.yaml", () => {
  test("three kvfleet nodes built from the Dockerfile", () => {
    expect(nodes.map(([name]) => name).sort()).toEqual(["node1", "node2", "node3"]);
    for (const [, node] of nodes) {
      const context = join(ROOT, node.build.context ?? node.build);
      expect(existsSync(join(context, node.build.dockerfile ?? "Dockerfile"))).toBe(true);
    }
  });

  test("every node's environment passes the server's config validation and names the redis service", () => {
    for (const [, node] of nodes) {
      const config = loadConfig({ argv: [], env: envOf(node) });
      expect(config.kv.ip).toBe("0.0.0.0");
      expect(config.store.type).toBe("redis");
      const url = "url" in config.store ? config.store.url : "";
      expect(new URL(url).hostname).toBe("redis");
      expect(node.depends_on.redis.condition).toBe("service_healthy");
      expect(node.healthcheck.test.join(" ")).toContain("/readyz");
      // SIGTERM drains for limits.drainTimeout (default 20 s) before the node exits.
      expect(seconds(node.stop_grace_period)).toBeGreaterThan(20);
    }
  });

  test("redis keeps an AOF fsynced every second on a named volume", () => {
    const redis = services.redis as Manifest;
    expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    const command = (redis.command as string[]).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--appendfsync everysec");
    const [volume] = (redis.volumes as string[])[0]?.split(":") ?? [];
    expect(Object.keys(compose.volumes)).toContain(volume as string);
    expect(redis.healthcheck).toBeDefined();
  });

  test("only the load balancer publishes a port, 1987, with the HAProxy config mounted read-only", () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      ((s.ports ?? []) as string[]).map((p) => [name, String(p)]),
    );
    expect(published).toEqual([["lb", "1987:1987"]]);
    const lb = services.lb as Manifest;
    expect(lb.image).toMatch(/^haproxy:\d+\.\d+\.\d+/);
    const [source, target, mode] = (lb.volumes[0] as string).split(":");
    expect(join(ROOT, source as string)).toBe(HAPROXY_CFG);
    expect(target).toBe("/usr/local/etc/haproxy/haproxy.cfg");
    expect(mode).toBe("ro");
  });

  test("the load balancer's environment fills every variable haproxy.cfg expands, one per node", () => {
    const cfg = readFileSync(HAPROXY_CFG, "utf8");
    const vars = [...cfg.matchAll(/"\$\{([A-Z0-9_]+)\}"/g)].map((m) => m[1] as string).sort();
    const env = envOf(services.lb as Manifest);
    expect(Object.keys(env).sort()).toEqual(vars);
    const backends = vars.filter((v) => v !== "LB_BIND").map((v) => env[v]);
    expect(backends.sort()).toEqual(nodes.map(([name]) => `${name}:1987`).sort());
    expect(env.LB_BIND).toBe(":1987");
    const dependsOn = Object.keys((services.lb as Manifest).depends_on).sort();
    expect(dependsOn).toEqual(nodes.map(([name]) => name).sort());
  });
});

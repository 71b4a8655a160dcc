import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { loadConfig } from "../../src/config/load.ts";
import { TestClient, upgradeStatus } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import {
  containerEnv,
  filesBelow,
  find,
  K8S,
  kustomize,
  type Manifest,
  mountedConfigFiles,
  podSpec,
  ROOT,
  readYaml,
  readYamlOne,
} from "./manifests.ts";

/** The Kubernetes API schema of each kind deploy/k8s uses, by apiVersion and kind. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1 Deployment": Deployment,
  "apps/v1 StatefulSet": StatefulSet,
  "v1 Service": Service,
  "v1 ConfigMap": ConfigMap,
  "v1 Secret": Secret,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2 HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1 NetworkPolicy": NetworkPolicy,
};

const BASE_KINDS = [
  "ConfigMap/kvfleet-config",
  "Deployment/kvfleet",
  "HorizontalPodAutoscaler/kvfleet",
  "NetworkPolicy/kvfleet",
  "NetworkPolicy/redis",
  "PodDisruptionBudget/kvfleet",
  "Secret/kvfleet-secret",
  "Service/kvfleet",
  "Service/redis",
  "StatefulSet/redis",
];
const REDIS_KINDS = ["NetworkPolicy/redis", "Service/redis", "StatefulSet/redis"];

const RENDERS = {
  base: join(K8S, "base"),
  "deploy/k8s": K8S,
  "overlays/external-redis": join(K8S, "overlays/external-redis"),
} as const;

const ids = (ms: Manifest[]) => ms.map((m) => `${m.kind}/${m.metadata.name}`).sort();

const kvfleetOf = (ms: Manifest[]) => {
  const deployment = find(ms, "Deployment", "kvfleet");
  const spec = podSpec(deployment) as Manifest;
  const container = (spec.containers as Manifest[]).find((c) => c.name === "kvfleet") as Manifest;
  return { deployment, spec, container };
};

/** The Deployment's env and config file as the pod sees them, loaded by the server's own code. */
function podConfig(ms: Manifest[]) {
  const { spec, container } = kvfleetOf(ms);
  const env = containerEnv(ms, container);
  const files = mountedConfigFiles(ms, spec, container);
  const config = loadConfig({
    argv: container.args ?? [],
    env,
    readFile: (path) => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`no ConfigMap mounted at ${path}`);
      return text;
    },
  });
  return { env, files, config };
}

describe("deploy/k8s", () => {
  test("every YAML document parses", () => {
    const yamls = filesBelow(K8S).filter((f) => f.endsWith(".yaml"));
    expect(yamls.length).toBeGreaterThan(9);
    for (const file of yamls) {
      const docs = readYaml(join(K8S, file));
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) expect(typeof doc).toBe("object");
    }
  });

  test("each kustomization lists exactly the files beside it", () => {
    const base = join(K8S, "base");
    const listed = (readYamlOne(join(base, "kustomization.yaml")).resources as string[]).sort();
    const present = filesBelow(base)
      .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
      .sort();
    expect(listed).toEqual(present);
    // Besides the manifests: the secret's committed example, and the real file if made locally.
    const others = filesBelow(base).filter((f) => !f.endsWith(".yaml"));
    expect(others.filter((f) => f !== "secret.env")).toEqual(["secret.env.example"]);
    const gitignore = Bun.file(join(ROOT, ".gitignore")).text();
    return gitignore.then((text) => expect(text).toContain("deploy/k8s/base/secret.env"));
  });

  test("the root and the overlay hold a kustomization and nothing else", () => {
    expect(readYamlOne(join(K8S, "kustomization.yaml")).resources).toEqual(["base"]);
    const overlay = join(K8S, "overlays/external-redis");
    expect(filesBelow(overlay)).toEqual(["kustomization.yaml"]);
    expect(readYamlOne(join(overlay, "kustomization.yaml")).resources).toEqual(["../../base"]);
    for (const dir of ["base", "overlays/external-redis"]) {
      for (const entry of (readYamlOne(join(K8S, dir, "kustomization.yaml")).patches ??
        []) as Manifest[]) {
        if (entry.path) expect(existsSync(join(K8S, dir, entry.path))).toBe(true);
      }
    }
  });

  test("the base holds the expected resources; the overlay drops Redis", () => {
    expect(ids(kustomize(RENDERS.base))).toEqual(BASE_KINDS);
    expect(ids(kustomize(RENDERS["deploy/k8s"]))).toEqual(BASE_KINDS);
    expect(ids(kustomize(RENDERS["overlays/external-redis"]))).toEqual(
      BASE_KINDS.filter((k) => !REDIS_KINDS.includes(k)),
    );
  });

  for (const [name, dir] of Object.entries(RENDERS)) {
    test(`${name}: every resource validates against the Kubernetes API schema`, () => {
      for (const m of kustomize(dir)) {
        const Model = MODELS[`${m.apiVersion} ${m.kind}`];
        if (!Model) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
        try {
          new Model(m as never).validate();
        } catch (e) {
          throw new Error(`${m.kind}/${m.metadata.name}: ${(e as Error).message}`);
        }
      }
    });

    test(`${name}: the pod's config file and env pass the server's own config validation`, () => {
      const { env, config } = podConfig(kustomize(dir));
      for (const value of Object.values(env)) expect(value).not.toContain("$(");
      expect(config.store.type).toBe("redis");
      expect(config.kv.ip).toBe("0.0.0.0");
    });
  }

  test("the external Redis overlay points REDIS_URL elsewhere, password still expanded", () => {
    const base = podConfig(kustomize(RENDERS.base));
    const overlay = podConfig(kustomize(RENDERS["overlays/external-redis"]));
    const url = (c: typeof base.config) => (c.store.type === "redis" ? (c.store.url ?? "") : "");
    expect(new URL(url(base.config)).hostname).toBe("redis");
    const external = new URL(url(overlay.config));
    expect(external.hostname).not.toBe("redis");
    expect(decodeURIComponent(external.password)).toBe(overlay.env.REDIS_PASSWORD as string);
  });

  describe("the base's resources fit together", () => {
    const ms = kustomize(RENDERS.base);
    const { deployment, spec, container } = kvfleetOf(ms);
    const port = (c: Manifest, ref: string | number) =>
      typeof ref === "number"
        ? ref
        : ((c.ports as Manifest[]).find((p) => p.name === ref)?.containerPort as number);
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);

    test("ports: config file, containerPort, Service targetPort and NetworkPolicy agree", () => {
      const { config } = podConfig(ms);
      const containerPort = port(container, "http");
      expect(containerPort).toBe(config.kv.port);
      const service = find(ms, "Service", "kvfleet");
      expect(port(container, service.spec.ports[0].targetPort)).toBe(containerPort);
      expect(service.spec.ports[0].port).toBe(1987);
      expect(selects(service.spec.selector, podLabels)).toBe(true);
      const policy = find(ms, "NetworkPolicy", "kvfleet");
      expect(selects(policy.spec.podSelector.matchLabels, podLabels)).toBe(true);
      expect(policy.spec.ingress[0].ports[0].port).toBe(containerPort);
    });

    test("rolling update, replicas, probes, termination grace beyond the drain", () => {
      expect(deployment.spec.replicas).toBe(3);
      expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
      expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
      expect(container.readinessProbe.httpGet.path).toBe("/readyz");
      expect(container.livenessProbe.httpGet.path).toBe("/healthz");
      expect(container.startupProbe.httpGet.path).toBeDefined();
      const file = mountedConfigFiles(ms, spec, container).get("/etc/kvfleet/config.json");
      const drain = JSON.parse(file as string).limits.drainTimeout as number;
      const preStop = Number(container.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(drain + preStop);
      expect(spec.enableServiceLinks).toBe(false);
      expect(spec.topologySpreadConstraints[0].topologyKey).toBe("kubernetes.io/hostname");
      expect(container.resources.requests).toBeDefined();
      expect(container.resources.limits).toBeDefined();
      expect(container.image).toMatch(/^kvfleet:\d+\.\d+\.\d+$/);
    });

    test("the image tag is the package version", async () => {
      const { version } = await Bun.file(join(ROOT, "package.json")).json();
      expect(container.image).toBe(`kvfleet:${version}`);
    });

    test("the pod runs as non-root on a read-only root with no privileges", () => {
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
    });

    test("PDB, HPA and Redis's NetworkPolicy select what they mean to", () => {
      const pdb = find(ms, "PodDisruptionBudget", "kvfleet");
      expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
      const hpa = find(ms, "HorizontalPodAutoscaler", "kvfleet");
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "kvfleet",
      });
      expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
      expect(hpa.spec.metrics[0].resource.name).toBe("cpu");
      const redis = find(ms, "StatefulSet", "redis");
      const redisLabels = redis.spec.template.metadata.labels;
      const redisService = find(ms, "Service", "redis");
      expect(redisService.spec.clusterIP).toBe("None");
      expect(redis.spec.serviceName).toBe("redis");
      expect(selects(redisService.spec.selector, redisLabels)).toBe(true);
      expect(selects(podLabels, redisLabels)).toBe(false);
      const policy = find(ms, "NetworkPolicy", "redis");
      expect(selects(policy.spec.podSelector.matchLabels, redisLabels)).toBe(true);
      expect(selects(policy.spec.podSelector.matchLabels, podLabels)).toBe(false);
      expect(policy.spec.ingress).toHaveLength(1);
      expect(policy.spec.ingress[0].from).toEqual([
        { podSelector: { matchLabels: { "app.kubernetes.io/name": "kvfleet" } } },
      ]);
      expect(selects(policy.spec.ingress[0].from[0].podSelector.matchLabels, podLabels)).toBe(true);
      expect(policy.spec.ingress[0].ports[0].port).toBe(
        redis.spec.template.spec.containers[0].ports[0].containerPort,
      );
      expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
      expect(redis.spec.template.spec.containers[0].args.join(" ")).toContain("--appendonly yes");
    });

    test("Redis refuses writes at about 75 % of its container's memory, never evicts", () => {
      const redis = find(ms, "StatefulSet", "redis").spec.template.spec.containers[0];
      const args = redis.args.join(" ");
      expect(args).toContain("--maxmemory-policy noeviction");
      // Redis reads "mb" as MiB; the container limit is a Kubernetes quantity.
      const maxmemory = Number(/--maxmemory (\d+)mb\b/.exec(args)?.[1]) * 2 ** 20;
      const limit = /^(\d+)(Mi|Gi)$/.exec(redis.resources.limits.memory);
      const bytes = Number(limit?.[1]) * 2 ** (limit?.[2] === "Gi" ? 30 : 20);
      expect(maxmemory / bytes).toBeGreaterThanOrEqual(0.7);
      expect(maxmemory / bytes).toBeLessThanOrEqual(0.8);
    });
  });
});

describe("deploy/k8s probes against the real server", () => {
  const { container } = kvfleetOf(kustomize(RENDERS.base));
  const probes = ["startupProbe", "livenessProbe", "readinessProbe"].map(
    (p) => [p, container[p].httpGet.path as string] as const,
  );

  let server: TestNode;
  beforeAll(() => {
    server = startNode();
  });
  afterAll(() => server.stop());

  for (const [probe, path] of probes) {
    test(`${probe} GET ${path} answers 200`, async () => {
      const response = await fetch(`${server.httpUrl}${path}`);
      expect(response.status).toBe(200);
    });
  }
});

describe("a pod's exact config and env, on a password-protected Redis", () => {
  const ms = kustomize(RENDERS.base);
  const { spec, container } = kvfleetOf(ms);
  // Not podConfig: a config error must fail the tests below, not the file's loading.
  const env = containerEnv(ms, container);
  const files = mountedConfigFiles(ms, spec, container);
  let redis: RedisServer;
  let server: TestNode;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    // After start: the support code checks readiness with an unauthenticated PING.
    await redisCli(redis.port, "CONFIG", "SET", "requirepass", env.REDIS_PASSWORD as string);
    dir = mkdtempSync(join(tmpdir(), "kvfleet-k8s-"));
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, files.get(env.KVFLEET_CONFIG as string) as string);
    // Only the Redis address and the file's place differ from the pod; startNode's
    // --ip and --port flags override the file's 0.0.0.0:1987.
    const url = new URL(env.REDIS_URL as string);
    url.host = `127.0.0.1:${redis.port}`;
    server = startNode([], {
      env: { ...env, KVFLEET_CONFIG: configPath, REDIS_URL: url.toString() },
    });
    // The start line comes before the first Redis connection is up; a pod would
    // only get traffic once ready, and the tests below play that traffic.
    await waitFor("the node to authenticate to Redis and turn ready", async () => {
      return (await fetch(`${server.httpUrl}/readyz`)).status === 200;
    });
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the probes answer 200 with the store ready", async () => {
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const response = await fetch(`${server.httpUrl}${container[probe].httpGet.path}`);
      expect(response.status).toBe(200);
    }
  });

  test("the Secret's token is enforced: a client without it is refused", async () => {
    expect(await upgradeStatus(`${server.httpUrl}/`)).toBe(401);
  });

  test("a client with the Secret's token stores and reads a key", async () => {
    const token = encodeURIComponent(env.KVFLEET_TOKEN as string);
    const client = await TestClient.open(`${server.url}?token=${token}`);
    try {
      expect(await client.ask({ KV_SET: { k8s: { ok: true } } })).toEqual([
        { KV_SET_RSP: { st: 20, k: "k8s" } },
      ]);
      expect(await client.ask({ KV_GET: ["k8s"] })).toEqual([
        { KV_GET_RSP: { k8s: { ok: true }, st: 1 } },
      ]);
    } finally {
      client.close();
    }
  });
});

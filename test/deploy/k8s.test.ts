import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
  freshCopyOfK8s,
  K8S,
  kubectlKustomize,
  type Manifest,
  manifestsOf,
  mountedConfigFiles,
  podSpec,
  type Rendered,
  ROOT,
  readEnvFile,
  readYaml,
  readYamlOne,
  render,
  requireKubectl,
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
  "Service/kvfleet",
  "Service/redis",
  "StatefulSet/redis",
];
const SECRET = "Secret/kvfleet-secret";
const REDIS_KINDS = ["NetworkPolicy/redis", "Service/redis", "StatefulSet/redis"];

/** The directories rendered, relative to deploy/k8s: what a user would `kubectl apply -k`. */
const DIRS = ["base", "overlays/dev", ".", "overlays/external-redis"] as const;
type Dir = (typeof DIRS)[number];
/** Those that need secret/secret.env, which a fresh clone lacks. */
const PRODUCTION: readonly Dir[] = [".", "overlays/external-redis"];
const label = (dir: Dir) => (dir === "." ? "deploy/k8s" : dir);

/** The values written to the fresh copy's secret/secret.env, as an operator would. */
const REAL_SECRET = {
  token: "c0ffee".repeat(8),
  "redis-password": "5eed".repeat(8),
};

/**
 * deploy/k8s as a fresh clone has it (no secret.env), and a second copy with
 * secret/secret.env written as docs/deploy.md says; made on first use, so
 * that a missing kubectl or a failed render fails each test that needs them,
 * saying how to install kubectl or quoting kubectl's error.
 */
let copies: { fresh: string; withSecret: string } | undefined;
function trees(): { fresh: string; withSecret: string } {
  if (copies === undefined) {
    requireKubectl();
    copies = { fresh: freshCopyOfK8s(), withSecret: freshCopyOfK8s() };
    const lines = Object.entries(REAL_SECRET).map(([k, v]) => `${k}=${v}\n`);
    writeFileSync(join(copies.withSecret, "secret/secret.env"), lines.join(""));
  }
  return copies;
}
afterAll(() => {
  for (const copy of Object.values(copies ?? {})) {
    rmSync(dirname(dirname(copy)), { recursive: true, force: true });
  }
});

const cloned = new Map<Dir, Rendered>();
/** `kubectl kustomize` of a directory of the fresh clone, which has no secret.env. */
function inClone(dir: Dir): Rendered {
  const out = cloned.get(dir) ?? kubectlKustomize(join(trees().fresh, dir));
  cloned.set(dir, out);
  return out;
}

const renders = new Map<Dir, Manifest[]>();
/** The manifests of a directory: of the fresh clone, or for a production one of the copy with secret.env. */
function rendered(dir: Dir): Manifest[] {
  const ms =
    renders.get(dir) ??
    (PRODUCTION.includes(dir)
      ? render(join(trees().withSecret, dir))
      : manifestsOf(inClone(dir), label(dir)));
  renders.set(dir, ms);
  return ms;
}

/** kind/name of each manifest; a generated Secret's name without its content hash. */
const ids = (ms: Manifest[]) =>
  ms
    .map((m) => {
      const name: string = m.metadata.name;
      return `${m.kind}/${m.kind === "Secret" ? name.replace(/-[a-z0-9]{10}$/, "") : name}`;
    })
    .sort();

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

/** Every secretKeyRef of every container in the manifests. */
const secretRefs = (ms: Manifest[]): string[] =>
  ms.flatMap((m) =>
    ((podSpec(m)?.containers ?? []) as Manifest[]).flatMap((c) =>
      ((c.env ?? []) as Manifest[]).flatMap((e) =>
        e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name as string] : [],
      ),
    ),
  );

describe("deploy/k8s", () => {
  test("every YAML document parses", () => {
    const yamls = filesBelow(K8S).filter((f) => f.endsWith(".yaml"));
    expect(yamls.length).toBeGreaterThan(11);
    for (const file of yamls) {
      const docs = readYaml(join(K8S, file));
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) expect(typeof doc).toBe("object");
    }
  });

  test("the base lists exactly the manifests beside it and holds nothing else", () => {
    const base = join(K8S, "base");
    const listed = (readYamlOne(join(base, "kustomization.yaml")).resources as string[]).sort();
    const files = filesBelow(base).filter((f) => f !== "kustomization.yaml");
    expect(listed).toEqual(files.sort());
    expect(files.every((f) => f.endsWith(".yaml"))).toBe(true);
  });

  test("the root, secret/ and the overlays hold what they say and nothing else", () => {
    const kustomization = (dir: string) => readYamlOne(join(K8S, dir, "kustomization.yaml"));
    const local = (dir: string) => filesBelow(join(K8S, dir)).filter((f) => f !== "secret.env");
    expect(kustomization(".").resources).toEqual(["base", "secret"]);
    expect(local("secret").sort()).toEqual(["kustomization.yaml", "secret.env.example"]);
    expect(kustomization("secret").secretGenerator).toEqual([
      { name: "kvfleet-secret", envs: ["secret.env"] },
    ]);
    expect(local("overlays/external-redis")).toEqual(["kustomization.yaml"]);
    expect(kustomization("overlays/external-redis").resources).toEqual([
      "../../base",
      "../../secret",
    ]);
    expect(local("overlays/dev").sort()).toEqual(["kustomization.yaml", "secret.env.example"]);
    expect(kustomization("overlays/dev").resources).toEqual(["../../base"]);
    expect(kustomization("overlays/dev").secretGenerator).toEqual([
      { name: "kvfleet-secret", envs: ["secret.env.example"] },
    ]);
  });

  test("the dev overlay's placeholders are secret/secret.env.example's, byte for byte", () => {
    const example = readFileSync(join(K8S, "secret/secret.env.example"), "utf8");
    expect(readFileSync(join(K8S, "overlays/dev/secret.env.example"), "utf8")).toBe(example);
    expect(Object.keys(readEnvFile(join(K8S, "secret/secret.env.example")))).toEqual([
      "token",
      "redis-password",
    ]);
  });

  test("git ignores a secret.env wherever one is made under deploy/k8s", () => {
    const paths = ["secret", "base", "overlays/dev", "overlays/external-redis"].map(
      (dir) => `deploy/k8s/${dir}/secret.env`,
    );
    const check = Bun.spawnSync(["git", "check-ignore", "--no-index", ...paths], {
      cwd: ROOT,
      stderr: "pipe",
    });
    expect(`${check.stderr}`).toBe("");
    expect(`${check.stdout}`.trim().split("\n")).toEqual(paths);
  });

  test("a fresh clone renders base and overlays/dev; the production paths fail for want of secret.env", () => {
    for (const dir of ["base", "overlays/dev"] as const) {
      const { code, stdout, stderr } = inClone(dir);
      expect({ dir, code, stderr }).toEqual({ dir, code: 0, stderr: "" });
      expect(stdout).toContain("kind: Deployment");
    }
    for (const dir of PRODUCTION) {
      const { code, stdout, stderr } = inClone(dir);
      expect(code).not.toBe(0);
      expect(stderr).toContain("secret/secret.env: no such file or directory");
      expect(stdout).toBe("");
    }
  });

  test("base has every resource but the Secret; the others add it; external-redis drops Redis", () => {
    expect(ids(rendered("base"))).toEqual(BASE_KINDS);
    const withSecret = [...BASE_KINDS, SECRET].sort();
    expect(ids(rendered("overlays/dev"))).toEqual(withSecret);
    expect(ids(rendered("."))).toEqual(withSecret);
    expect(ids(rendered("overlays/external-redis"))).toEqual(
      withSecret.filter((k) => !REDIS_KINDS.includes(k)),
    );
  });

  for (const dir of ["overlays/dev", ".", "overlays/external-redis"] as const) {
    test(`${label(dir)}: the Secret's name has its content hash and every reference follows it`, () => {
      const ms = rendered(dir);
      const secret = ms.find((m) => m.kind === "Secret") as Manifest;
      expect(secret.metadata.name).toMatch(/^kvfleet-secret-[a-z0-9]{10}$/);
      const refs = secretRefs(ms);
      expect(refs.length).toBeGreaterThanOrEqual(dir === "overlays/external-redis" ? 2 : 4);
      expect(new Set(refs)).toEqual(new Set([secret.metadata.name]));
    });
  }

  test("the production Secret holds secret.env's values, the dev one the placeholders", () => {
    const data = (dir: Dir) => {
      const secret = rendered(dir).find((m) => m.kind === "Secret") as Manifest;
      return Object.fromEntries(
        Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v, "base64").toString(),
        ]),
      );
    };
    expect(data(".")).toEqual(REAL_SECRET);
    expect(data("overlays/external-redis")).toEqual(REAL_SECRET);
    expect(data("overlays/dev")).toEqual(readEnvFile(join(K8S, "overlays/dev/secret.env.example")));
  });

  for (const dir of DIRS) {
    test(`${label(dir)}: every resource validates against the Kubernetes API schema`, () => {
      for (const m of rendered(dir)) {
        const Model = MODELS[`${m.apiVersion} ${m.kind}`];
        if (!Model) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
        try {
          new Model(m as never).validate();
        } catch (e) {
          throw new Error(`${m.kind}/${m.metadata.name}: ${(e as Error).message}`);
        }
      }
    });
  }

  for (const dir of ["overlays/dev", ".", "overlays/external-redis"] as const) {
    test(`${label(dir)}: the pod's config file and env pass the server's own config validation`, () => {
      const { env, config } = podConfig(rendered(dir));
      for (const value of Object.values(env)) expect(value).not.toContain("$(");
      expect(config.store.type).toBe("redis");
      expect(config.kv.ip).toBe("0.0.0.0");
      expect(config.security.token).toBe(env.KVFLEET_TOKEN as string);
    });
  }

  test("the external Redis overlay points REDIS_URL elsewhere, password still expanded", () => {
    const base = podConfig(rendered("."));
    const overlay = podConfig(rendered("overlays/external-redis"));
    const url = (c: typeof base.config) => ("url" in c.store ? c.store.url : "");
    const inCluster = new URL(url(base.config));
    expect(inCluster.hostname).toBe("redis");
    expect(decodeURIComponent(inCluster.password)).toBe(REAL_SECRET["redis-password"]);
    const external = new URL(url(overlay.config));
    expect(external.hostname).not.toBe("redis");
    expect(decodeURIComponent(external.password)).toBe(REAL_SECRET["redis-password"]);
  });

  describe("deploy/k8s's resources fit together", () => {
    let ms: Manifest[];
    let deployment: Manifest;
    let spec: Manifest;
    let container: Manifest;
    let podLabels: Record<string, string>;
    beforeAll(() => {
      ms = rendered(".");
      ({ deployment, spec, container } = kvfleetOf(ms));
      podLabels = deployment.spec.template.metadata.labels;
    });
    const port = (c: Manifest, ref: string | number) =>
      typeof ref === "number"
        ? ref
        : ((c.ports as Manifest[]).find((p) => p.name === ref)?.containerPort as number);
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

const PROBES = ["startupProbe", "livenessProbe", "readinessProbe"] as const;

describe("deploy/k8s probes against the real server", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode();
  });
  afterAll(() => server.stop());

  for (const probe of PROBES) {
    test(`${probe}'s GET answers 200`, async () => {
      const path = kvfleetOf(rendered(".")).container[probe].httpGet.path as string;
      expect(path).toStartWith("/");
      const response = await fetch(`${server.httpUrl}${path}`);
      expect(response.status).toBe(200);
    });
  }
});

for (const dir of ["overlays/dev", "."] as const) {
  describe(`${label(dir)}: a pod's exact config and env, on a password-protected Redis`, () => {
    let container: Manifest;
    let env: Record<string, string>;
    let redis: RedisServer;
    let server: TestNode;
    let tmp: string;

    beforeAll(async () => {
      const ms = rendered(dir);
      const pod = kvfleetOf(ms);
      container = pod.container;
      // Not podConfig: a config error must fail the tests below, not the file's loading.
      env = containerEnv(ms, container);
      const files = mountedConfigFiles(ms, pod.spec, container);
      redis = await startRedis();
      // After start: the support code checks readiness with an unauthenticated PING.
      await redisCli(redis.port, "CONFIG", "SET", "requirepass", env.REDIS_PASSWORD as string);
      tmp = mkdtempSync(join(tmpdir(), "kvfleet-k8s-"));
      const configPath = join(tmp, "config.json");
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
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    test("the probes answer 200 with the store ready", async () => {
      for (const probe of PROBES) {
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
}

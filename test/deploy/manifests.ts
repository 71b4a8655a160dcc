import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
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

/**
 * The env file a secretGenerator names, or its committed `.example` twin: the real
 * one holds credentials and is not in git, so tests read the placeholders.
 */
export function secretEnvPath(dir: string, file: string): string {
  const example = join(dir, `${file}.example`);
  return existsSync(example) ? example : join(dir, file);
}

const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion",
  "kind",
  "resources",
  "patches",
  "secretGenerator",
  "images",
]);

const id = (m: Manifest) => `${m.kind}/${m.metadata?.name}`;

/**
 * Renders a kustomization the way `kubectl kustomize` does, for the features
 * deploy/k8s uses and nothing else (an unknown field fails): resources (files
 * and directories), secretGenerator from env files (without the name hash),
 * patches that delete a resource, JSON 6902 patches (test, replace, add,
 * remove), and image tags.
 */
export function kustomize(dir: string): Manifest[] {
  const k = readYamlOne(join(dir, "kustomization.yaml"));
  for (const field of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.has(field)) {
      throw new Error(`${relative(ROOT, dir)}/kustomization.yaml: unsupported field ${field}`);
    }
  }
  let out: Manifest[] = [];
  for (const resource of (k.resources ?? []) as string[]) {
    const path = join(dir, resource);
    if (!existsSync(path)) throw new Error(`${relative(ROOT, path)}: listed but missing`);
    out.push(...(statSync(path).isDirectory() ? kustomize(path) : (readYaml(path) as Manifest[])));
  }
  for (const gen of (k.secretGenerator ?? []) as Manifest[]) {
    const data: Record<string, string> = {};
    for (const file of (gen.envs ?? []) as string[]) {
      for (const [key, value] of Object.entries(readEnvFile(secretEnvPath(dir, file)))) {
        data[key] = Buffer.from(value).toString("base64");
      }
    }
    out.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: gen.name },
      type: "Opaque",
      data,
    });
  }
  for (const entry of (k.patches ?? []) as Manifest[]) {
    const text: string =
      entry.patch ?? (entry.path ? readFileSync(join(dir, entry.path), "utf8") : "");
    const docs = parseAllDocuments(text);
    const patch = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS()) as Manifest[];
    if (patch.length === 1 && Array.isArray(patch[0])) {
      const target = entry.target as Manifest;
      const matches = out.filter((m) => m.kind === target.kind && m.metadata.name === target.name);
      if (matches.length !== 1) throw new Error(`patch target ${target.kind}/${target.name}`);
      jsonPatch(matches[0] as Manifest, patch[0] as unknown as Manifest[]);
    } else if (patch.length === 1 && patch[0]?.$patch === "delete") {
      const gone = id(patch[0]);
      if (!out.some((m) => id(m) === gone)) throw new Error(`delete patch: no ${gone}`);
      out = out.filter((m) => id(m) !== gone);
    } else {
      throw new Error(`${relative(ROOT, dir)}: unsupported patch ${text.slice(0, 80)}`);
    }
  }
  for (const image of (k.images ?? []) as Manifest[]) {
    for (const m of out) {
      for (const c of podSpec(m)?.containers ?? []) {
        if (c.image === image.name || c.image.startsWith(`${image.name}:`)) {
          c.image = `${image.newName ?? image.name}:${image.newTag}`;
        }
      }
    }
  }
  const ids = out.map(id);
  const dup = ids.find((x, i) => ids.indexOf(x) !== i);
  if (dup) throw new Error(`${relative(ROOT, dir)}: ${dup} twice`);
  return out;
}

function jsonPatch(doc: Manifest, ops: Manifest[]): void {
  for (const op of ops) {
    const parts = (op.path as string)
      .split("/")
      .slice(1)
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = parts.pop() as string;
    let parent: Manifest = doc;
    for (const part of parts) {
      parent = parent?.[part];
      if (parent === undefined) throw new Error(`JSON patch: no ${op.path}`);
    }
    const index = Array.isArray(parent) ? (last === "-" ? parent.length : Number(last)) : last;
    switch (op.op) {
      case "test":
        if (JSON.stringify(parent[index]) !== JSON.stringify(op.value)) {
          throw new Error(`JSON patch test failed at ${op.path}`);
        }
        break;
      case "replace":
        if (parent[index] === undefined) throw new Error(`JSON patch: no ${op.path}`);
        parent[index] = op.value;
        break;
      case "add":
        if (Array.isArray(parent)) parent.splice(index as number, 0, op.value);
        else parent[index] = op.value;
        break;
      case "remove":
        if (Array.isArray(parent)) parent.splice(index as number, 1);
        else delete parent[index];
        break;
      default:
        throw new Error(`JSON patch: unsupported op ${op.op}`);
    }
  }
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

// Builds what runtimes other than Bun import: dist/index.js (one ES module, for
// Node and browsers) and dist/*.d.ts. Bun imports src/ directly. Run by
// `bun install` (the root package's prepare script) and by the Node test.
import { rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
rmSync(`${here}dist`, { recursive: true, force: true });
const built = await Bun.build({
  entrypoints: [`${here}src/index.ts`],
  outdir: `${here}dist`,
  target: "browser",
  format: "esm",
});
if (!built.success) {
  for (const message of built.logs) console.error(message);
  process.exit(1);
}
const tsc = Bun.spawnSync(["bun", "x", "tsc", "-p", `${here}tsconfig.build.json`], {
  cwd: here,
  stdout: "inherit",
  stderr: "inherit",
});
process.exit(tsc.exitCode ?? 1);

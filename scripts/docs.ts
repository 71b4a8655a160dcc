/**
 * Regenerates the settings tables of the docs from SETTINGS (src/config/settings.ts), the
 * settings' only source, between `<!-- settings:start -->` and `<!-- settings:end -->`.
 * Run with `bun run docs`; test/unit/docs.test.ts fails while a table is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settingLines } from "../src/config/help.ts";

export const ROOT = join(import.meta.dir, "..");
/** The files holding a settings table, relative to the repository. */
export const DOCUMENTS = ["README.md", "docs/deploy.md"];

const START = "<!-- settings:start -->";
const END = "<!-- settings:end -->";
const NOTE = "<!-- generated from src/config/settings.ts by `bun run docs`: edit it there -->";

const code = (text: string) => `\`${text}\``;
// A "|" in prose would end the cell.
const prose = (text: string) => text.replaceAll("|", "\\|");

export function settingsTable(): string {
  const rows = settingLines().map((s) => [
    code(s.path),
    s.env.map(code).join(", "),
    s.flag === undefined ? "" : code(s.flag),
    s.default === undefined ? "" : code(s.default),
    prose(s.accepted ?? ""),
    prose(s.doc),
  ]);
  return [
    "| file field | environment | flag | default | accepted | meaning |",
    "|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

/** `text` with the table between its markers regenerated; `file` names it in errors. */
export function withSettingsTable(text: string, file: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${file}: no ${START} ... ${END} markers`);
  const table = `${START}\n${NOTE}\n\n${settingsTable()}\n\n`;
  return text.slice(0, start) + table + text.slice(end);
}

if (import.meta.main) {
  for (const file of DOCUMENTS) {
    const path = join(ROOT, file);
    const text = readFileSync(path, "utf8");
    const updated = withSettingsTable(text, file);
    if (updated !== text) writeFileSync(path, updated);
    console.log(`docs: ${file} ${updated === text ? "up to date" : "updated"}`);
  }
}

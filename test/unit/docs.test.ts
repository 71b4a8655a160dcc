import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DOCUMENTS, ROOT, settingsTable, withSettingsTable } from "../../scripts/docs.ts";
import { SETTINGS, type Setting } from "../../src/config/settings.ts";

describe("settings tables in the docs", () => {
  for (const file of DOCUMENTS) {
    test(`${file} holds the table SETTINGS gives`, () => {
      const text = readFileSync(join(ROOT, file), "utf8");
      expect(
        withSettingsTable(text, file),
        `${file} is out of date with src/config/settings.ts: run \`bun run docs\``,
      ).toBe(text);
    });
  }

  test("the table has one row per setting, with its flag, variables and default", () => {
    const rows = settingsTable().split("\n").slice(2);
    expect(rows).toHaveLength(Object.keys(SETTINGS).length);
    for (const [path, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
      const row = rows.find((r) => r.startsWith(`| \`${path}\` |`)) ?? "";
      const cells = row.split(" | ");
      expect(cells[1]).toBe(setting.env.map((name) => `\`${name}\``).join(", "));
      expect(cells[2]).toBe(setting.flag === undefined ? "" : `\`--${setting.flag}\``);
      const value = setting.default;
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      expect(cells[3]).toBe(value === undefined ? "" : `\`${shown}\``);
      expect(row).toEndWith(` | ${setting.doc} |`);
    }
  });

  test("a document without the markers is an error, not a silent no-op", () => {
    expect(() => withSettingsTable("# no table here\n", "x.md")).toThrow(
      "x.md: no <!-- settings:start --> ... <!-- settings:end --> markers",
    );
  });
});

import { VERSION } from "../version.ts";
import { CONFIG_ENV, CONFIG_FLAG, type Path, SETTINGS, type Setting } from "./settings.ts";

/** One row of `SETTINGS` as people read it, in `--help` and in the docs' settings tables. */
export interface SettingLine {
  readonly path: Path;
  /** `--port`; undefined for a setting that has no flag. */
  readonly flag?: string;
  readonly env: readonly string[];
  /** As the config file would hold it, e.g. `1987`, `127.0.0.1`, `[]`. */
  readonly default?: string;
  readonly accepted?: string;
  readonly doc: string;
}

const showDefault = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value);

export function settingLines(): SettingLine[] {
  return (Object.keys(SETTINGS) as Path[]).map((path) => {
    const setting: Setting<unknown> = SETTINGS[path];
    return {
      path,
      flag: setting.flag === undefined ? undefined : `--${setting.flag}`,
      env: setting.env,
      default: setting.default === undefined ? undefined : showDefault(setting.default),
      accepted: setting.kind.describe,
      doc: setting.doc,
    };
  });
}

/** Columns padded to their widest cell; the last one is never padded. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join("  ")
      .trimEnd(),
  );
}

function helpText(usage: string): string {
  const rows = settingLines().map((s) => [
    s.flag ?? "",
    s.env.join(", "),
    s.path,
    s.default ?? "",
    s.accepted === undefined ? s.doc : `${s.doc} Accepts ${s.accepted}.`,
  ]);
  return [
    `kvfleet ${VERSION}: a JSON key-value server over WebSockets.`,
    "",
    `Usage: ${usage} [--flag=VALUE | --flag VALUE]...`,
    "",
    "Each setting comes from, strongest first: its flag, its environment variable, the config",
    `file (--${CONFIG_FLAG}=FILE or ${CONFIG_ENV}: JSON, fields as below), its default.`,
    "--help (-h) prints this and --version the version, whatever else is given.",
    "",
    ...columns([["flag", "environment", "file field", "default", "meaning"], ...rows]),
  ].join("\n");
}

/**
 * The text `--help` (`-h`) or `--version` asks for, if the arguments hold one. As in most
 * tools, either wins over every other argument, valid or not. `usage` is the command that
 * starts the server, as the caller was run (`bun run start`, `kvfleet serve`).
 */
export function infoRequested(argv: readonly string[], usage: string): string | undefined {
  if (argv.includes("--help") || argv.includes("-h")) return helpText(usage);
  if (argv.includes("--version")) return VERSION;
  return undefined;
}

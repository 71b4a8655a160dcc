/** Units the bench prints and the report writes. */

export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
export const ms = (us: number) => (us / 1000).toFixed(1);

/** A console table column: title, width (negative: aligned left) and the cell of a row. */
export type Column<T> = [title: string, width: number, cell: (row: T) => string | number];

/** The header line and the line of a row of a console table. */
export function consoleTable<T>(columns: Column<T>[]) {
  const pad = (text: string | number, width: number) =>
    width < 0 ? String(text).padEnd(-width) : String(text).padStart(width);
  return {
    header: columns.map(([title, width]) => pad(title, width)).join(" "),
    line: (row: T) => columns.map(([, width, cell]) => pad(cell(row), width)).join(" "),
  };
}

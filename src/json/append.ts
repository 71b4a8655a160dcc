import { Scanner, stringValue } from "./scanner.ts";

/**
 * KV_APPEND on JSON text: array + array appends the elements, object + object
 * adds the members whose names the stored object lacks, string + string
 * concatenates. Both inputs are compact, valid JSON (as stores hold them).
 * Answers the combined text, or null when the pair can't be combined (41).
 */
export function appendJson(stored: string, added: string): string | null {
  const kind = stored.charCodeAt(0);
  if (kind !== added.charCodeAt(0)) return null;
  switch (kind) {
    case 0x22: // string: escapes are self-contained, so the token bodies concatenate
      return stored.slice(0, -1) + added.slice(1);
    case 0x5b:
      if (added.length === 2) return stored;
      if (stored.length === 2) return added;
      return `${stored.slice(0, -1)},${added.slice(1)}`;
    case 0x7b:
      return appendMembers(stored, added);
    default:
      return null;
  }
}

function appendMembers(stored: string, added: string): string {
  const names = new Set<string>();
  forEachMember(stored, (name) => names.add(name));
  let extra = "";
  forEachMember(added, (name, member) => {
    if (names.has(name)) return;
    names.add(name);
    extra += extra === "" ? member : `,${member}`;
  });
  if (extra === "") return stored;
  return stored.length === 2 ? `{${extra}}` : `${stored.slice(0, -1)},${extra}}`;
}

/** Calls `visit` with each top-level member's decoded name and its `"name":value` text. */
function forEachMember(object: string, visit: (name: string, member: string) => void): void {
  const sc = new Scanner(object);
  sc.pos = 1;
  while (sc.peek() === 0x22) {
    const start = sc.pos;
    sc.string();
    const name = stringValue(object, start, sc.pos, sc.escaped);
    sc.pos++; // ':'
    sc.value();
    visit(name, object.slice(start, sc.pos));
    sc.pos++; // ',' or '}'
  }
}

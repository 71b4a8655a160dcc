import { UsageError } from "./args.ts";

/**
 * Splits a line of the shell into words, so that JSON can be typed as it is written:
 * - a word starting with `{` or `[` runs to its matching bracket, strings inside respected,
 *   spaces included: `set k {"a": [1, 2]}` is three words;
 * - a word starting with `"` is a JSON string and keeps its quotes: as a VALUE it is that
 *   string, elsewhere (a key, a flag's value) `unquote` reads it;
 * - a word in single quotes is its text exactly, quotes removed: `get 'my key'`;
 * - any other word runs to the next space.
 * Unbalanced brackets or quotes are a UsageError rather than a guess.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let end: number;
    let word: string;
    if (c === "'") {
      end = line.indexOf("'", i + 1);
      if (end === -1) throw new UsageError("a ' is not closed");
      word = line.slice(i + 1, end);
      end++;
    } else if (c === '"' || c === "{" || c === "[") {
      end = jsonEnd(line, i);
      word = line.slice(i, end);
    } else {
      end = i;
      while (end < line.length && !/\s/.test(line[end] as string)) end++;
      word = line.slice(i, end);
    }
    if (end < line.length && !/\s/.test(line[end] as string)) {
      throw new UsageError(`a space is missing after ${word}`);
    }
    words.push(word);
    i = end;
  }
  return words;
}

/** Where the string or bracketed value starting at `start` ends (one past its last character). */
function jsonEnd(line: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new UsageError(inString ? 'a " is not closed' : `a ${line[start]} is not closed`);
}

/** A key or flag value typed as a JSON string (`"my key"`) is that string; others stay as typed. */
export function unquote(word: string): string {
  if (!(word.length >= 2 && word.startsWith('"') && word.endsWith('"'))) return word;
  try {
    return JSON.parse(word) as string;
  } catch {
    throw new UsageError(`${word} is not a valid JSON string`);
  }
}

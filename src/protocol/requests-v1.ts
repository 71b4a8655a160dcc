import { JsonSyntaxError, Scanner } from "../json/scanner.ts";
import { expectEnd, parseNamedBody, readName } from "./bodies.ts";
import { messageError, type Parsed } from "./commands.ts";
import { Status } from "./status.ts";

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Parsing never yields, so one scanner serves every message. */
const scanner = new Scanner("");

/**
 * Parses one text message of protocol version 1. Precedence follows the
 * spec: JSON validity of the whole message first, then the member count,
 * the command name, the body type.
 */
export function parseMessage(text: string): Parsed {
  const sc = scanner.reset(text);
  try {
    return parseObject(sc);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return messageError(Status.JsonInvalid, error.message);
    throw error;
  }
}

function parseObject(sc: Scanner): Parsed {
  sc.skipSpace();
  if (sc.peek() !== OPEN_BRACE) {
    sc.value();
    expectEnd(sc);
    return messageError(Status.JsonInvalid, "message is not a JSON object");
  }
  sc.pos++;
  sc.skipSpace();
  if (sc.peek() === CLOSE_BRACE) {
    sc.pos++;
    expectEnd(sc);
    return messageError(Status.CommandNotExist, "");
  }
  const name = readName(sc, 1);
  sc.colon();
  const first = parseNamedBody(sc, name, 1);
  let members = 1;
  while (sc.more(CLOSE_BRACE)) {
    sc.string();
    sc.colon();
    sc.value();
    members++;
  }
  expectEnd(sc);
  return members === 1 ? first : messageError(Status.CommandMultiple, "");
}

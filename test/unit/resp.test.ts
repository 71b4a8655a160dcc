import { describe, expect, test } from "bun:test";
import { CommandBuffer, type Reply, RespError, RespParser } from "../../src/store/resp.ts";

function parse(chunks: Buffer[]): Reply[] {
  const parser = new RespParser();
  const out: Reply[] = [];
  for (const chunk of chunks) parser.feed(chunk, (reply) => out.push(reply));
  return out;
}

/** The bytes cut into pieces of `size`. */
function pieces(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const STREAM =
  "+OK\r\n-ERR wrong\r\n:42\r\n:-2\r\n$5\r\nh\xe9llo\r\n$-1\r\n*-1\r\n*0\r\n" +
  "*3\r\n:1\r\n-WRONGTYPE Operation\r\n*2\r\n$0\r\n\r\n$3\r\n\u20ac\r\n";

describe("RESP replies", () => {
  test("every type, errors inside arrays, UTF-8 bulk strings", () => {
    const utf8 = STREAM.replace("$5\r\nh\xe9llo", "$6\r\nh\xe9llo");
    const out = parse([Buffer.from(utf8)]);
    expect(out.slice(0, 1)).toEqual(["OK"]);
    expect(out[1]).toBeInstanceOf(RespError);
    expect((out[1] as RespError).message).toBe("ERR wrong");
    expect(out.slice(2, 8)).toEqual([42, -2, "h\xe9llo", null, null, []]);
    const nested = out[8] as Reply[];
    expect(nested[0]).toBe(1);
    expect(nested[1]).toBeInstanceOf(RespError);
    expect(nested[2]).toEqual(["", "\u20ac"]);
    expect(out).toHaveLength(9);
  });

  test("the same replies whatever the chunks: cut at every byte", () => {
    const utf8 = STREAM.replace("$5\r\nh\xe9llo", "$6\r\nh\xe9llo");
    const whole = parse([Buffer.from(utf8)]);
    for (const size of [1, 2, 3, 7, 13]) {
      expect(parse(pieces(utf8, size))).toEqual(whole);
    }
  });

  test("a bulk string of 3 MB in 64 KB chunks, and the reply after it", () => {
    const big = "x".repeat(3 << 20);
    const out = parse(pieces(`$${big.length}\r\n${big}\r\n:7\r\n`, 65536));
    expect(out).toHaveLength(2);
    expect((out[0] as string).length).toBe(big.length);
    expect(out[1]).toBe(7);
  });

  test("an array of 256 values of 8 KB in 64 KB chunks, nested arrays and errors among them", () => {
    const value = "v".repeat(8192);
    let text = "*257\r\n";
    for (let i = 0; i < 256; i++) text += `$${value.length}\r\n${value}\r\n`;
    text += "*2\r\n-ERR in place\r\n*1\r\n:5\r\n:9\r\n";
    const out = parse(pieces(text, 65536));
    expect(out).toHaveLength(2);
    const array = out[0] as Reply[];
    expect(array).toHaveLength(257);
    expect(array.slice(0, 256).every((v) => v === value)).toBe(true);
    const last = array[256] as Reply[];
    expect(last[0]).toBeInstanceOf(RespError);
    expect(last[1]).toEqual([5]);
    expect(out[1]).toBe(9);
  });

  test("a reply of unknown type is an error, not a guess", () => {
    expect(() => parse([Buffer.from("?what\r\n")])).toThrow(/unknown type/);
  });
});

describe("RESP commands", () => {
  test("arrays of bulk strings with lengths in UTF-8 bytes, and the bytes of all", () => {
    const buffer = new CommandBuffer();
    buffer.add(["SET", "k\u20ac", 12]);
    buffer.add(["EVALSHA", "abc"], [1, "k"]);
    const { text, bytes } = buffer.take();
    expect(text).toBe(
      "*3\r\n$3\r\nSET\r\n$4\r\nk\u20ac\r\n$2\r\n12\r\n" +
        "*4\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$1\r\nk\r\n",
    );
    expect(bytes).toBe(Buffer.byteLength(text));
    expect(buffer.take()).toEqual({ text: "", bytes: 0 });
  });
});

import { describe, expect, test } from "bun:test";
import { loggedCloseCode, maskedTextFrames } from "../../bench/slow-reader.ts";

/** Unmasks client frames as a server does: each payload's text. */
function unmask(buffer: Buffer): string[] {
  const texts: string[] = [];
  let o = 0;
  while (o < buffer.length) {
    expect(buffer[o]).toBe(0x81);
    const second = buffer[o + 1] as number;
    expect(second & 0x80).toBe(0x80);
    const n = second & 0x7f;
    const mask = buffer.subarray(o + 2, o + 6);
    const payload = Buffer.from(buffer.subarray(o + 6, o + 6 + n));
    for (let i = 0; i < n; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    texts.push(payload.toString());
    o += 6 + n;
  }
  return texts;
}

describe("slow-reader bench helpers", () => {
  test("maskedTextFrames writes count masked text frames of the text", () => {
    const text = '{"KV_GET":["key:0"]}';
    const frames = maskedTextFrames(text, 1000);
    expect(frames.length).toBe(1000 * (6 + text.length));
    const texts = unmask(frames);
    expect(texts.length).toBe(1000);
    expect(texts.every((t) => t === text)).toBe(true);
  });

  test("maskedTextFrames refuses a text that needs an extended length", () => {
    expect(() => maskedTextFrames("x".repeat(126), 1)).toThrow();
  });

  test("loggedCloseCode finds the code of a client-error line", () => {
    const output = [
      '{"level":"info","event":"listening","url":"ws://127.0.0.1:1/"}',
      '{"time":"t","level":"info","event":"client error","closeCode":1008}',
      "",
    ].join("\n");
    expect(loggedCloseCode(output)).toBe(1008);
    expect(loggedCloseCode('{"event":"store up"}\n')).toBeNull();
  });
});

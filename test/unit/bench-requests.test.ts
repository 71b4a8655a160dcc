import { describe, expect, test } from "bun:test";
import { buildRequests, responseCheck } from "../../bench/requests.ts";

const GET = 0;
const SET = 1;
const value = '{"v":"xxxxxxxxxx"}';
const found = (k: number) => `{"k":"key:${k}","st":1,"v":${value}}`;

describe("load generator requests and checks, protocol 2", () => {
  test("each request carries its slot as id, and their count is a multiple of the window", () => {
    const { texts, codes, keysPerRequest } = buildRequests("get10", 5000, 20, {
      protocol: 2,
      window: 32,
    });
    expect(texts.length % 32).toBe(0);
    expect(keysPerRequest).toBe(10);
    texts.forEach((text, i) => {
      const request = JSON.parse(text) as { id: number; KV_GET: string[] };
      expect(Object.keys(request)).toEqual(["id", "KV_GET"]);
      expect(request.id).toBe(i % 32);
      expect(new Set(request.KV_GET).size).toBe(10);
      expect(codes[i]).toBe(GET);
    });
  });

  test("protocol 1 requests are as before: no id", () => {
    const { texts } = buildRequests("set", 10, 20, { window: 4 });
    expect(texts[0]).toMatch(/^\{"KV_SET":\{"key:\d+":\{"v":"x+"\}\}\}$/);
  });

  test("a set answer is accepted only with its slot's id and allowed statuses", () => {
    const check = responseCheck("set", 2, 8);
    expect(check(SET, 3, '{"id":3,"KV_SET_RSP":[{"k":"key:1","st":21}]}')).toBe(true);
    expect(check(SET, 3, '{"id":3,"KV_SET_RSP":[{"k":"key:1","st":20}]}')).toBe(true);
    expect(check(SET, 4, '{"id":3,"KV_SET_RSP":[{"k":"key:1","st":21}]}')).toBe(false);
    expect(check(SET, 3, '{"id":3,"KV_SET_RSP":[{"k":"key:1","st":100}]}')).toBe(false);
    expect(check(SET, 3, '{"id":3,"KV_SET_RSP":[]}')).toBe(false);
    expect(check(SET, 3, '{"id":3,"KV_GET_RSP":[{"k":"key:1","st":21}]}')).toBe(false);
    expect(check(SET, 3, '{"id":3,"KV_ERR":{"st":12,"m":"KV_SET body must be an object"}}')).toBe(
      false,
    );
    expect(check(SET, 3, '{"KV_SET_RSP":{"st":21,"k":"key:1"}}')).toBe(false);
  });

  test("a 10-key get answer needs exactly ten found elements", () => {
    const check = responseCheck("get10", 2, 32);
    const ten = Array.from({ length: 10 }, (_, k) => found(k));
    expect(check(GET, 31, `{"id":31,"KV_GET_RSP":[${ten.join(",")}]}`)).toBe(true);
    expect(check(GET, 31, `{"id":31,"KV_GET_RSP":[${ten.slice(1).join(",")}]}`)).toBe(false);
    const missing = [...ten.slice(1), '{"k":"key:0","st":22}'];
    expect(check(GET, 31, `{"id":31,"KV_GET_RSP":[${missing.join(",")}]}`)).toBe(false);
  });

  test("in a mixed run a get may miss its key", () => {
    const check = responseCheck("mixed", 2, 1);
    expect(check(GET, 0, '{"id":0,"KV_GET_RSP":[{"k":"key:9","st":22}]}')).toBe(true);
    expect(check(GET, 0, `{"id":0,"KV_GET_RSP":[${found(9)}]}`)).toBe(true);
  });

  test("protocol 1 checks one frame per key, whatever the slot", () => {
    const check = responseCheck("get10", 1, 32);
    expect(check(GET, 5, `{"KV_GET_RSP":{"key:1":${value},"st":1}}`)).toBe(true);
    expect(check(GET, 5, '{"KV_GET_RSP":{"st":22,"k":"key:1"}}')).toBe(false);
  });
});

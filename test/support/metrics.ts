import { expect } from "bun:test";

/** Every sample of a node's `/metrics`, keyed by name and labels as written, e.g. `x{a="b"}`. */
export async function scrape(node: { readonly httpUrl: string }): Promise<Map<string, number>> {
  const response = await fetch(`${node.httpUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain");
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * A WebSocket load generator: `connections` sockets, each keeping `window`
 * requests in flight, for `seconds`. Requests are prebuilt strings; every
 * response's status is checked against the one the operation expects.
 */
export interface LoadOptions {
  url: string;
  connections: number;
  window: number;
  seconds: number;
  op: "set" | "get";
  keys: number;
  valueSize: number;
}

export interface LoadResult {
  ops: number;
  errors: number;
  opsPerSecond: number;
}

export function requests(op: LoadOptions["op"], keys: number, valueSize: number): string[] {
  const value = JSON.stringify("v".repeat(valueSize));
  return Array.from({ length: keys }, (_, i) =>
    op === "set" ? `{"KV_SET":{"key:${i}":${value}}}` : `{"KV_GET":["key:${i}"]}`,
  );
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const messages = requests(options.op, options.keys, options.valueSize);
  const ok = options.op === "set" ? /"st":2[01]/ : /"st":1}}$/;
  let ops = 0;
  let errors = 0;
  let running = true;
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(options.url);
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error(`cannot connect to ${options.url}`));
        }),
    ),
  );
  let next = 0;
  const done = sockets.map(
    (ws) =>
      new Promise<void>((resolve) => {
        let inFlight = 0;
        const send = () => {
          ws.send(messages[next++ % messages.length] as string);
          inFlight++;
        };
        ws.onmessage = (event) => {
          inFlight--;
          ops++;
          if (!ok.test(event.data as string)) errors++;
          if (running) send();
          else if (inFlight === 0) resolve();
        };
        for (let i = 0; i < options.window; i++) send();
      }),
  );
  const started = performance.now();
  await Bun.sleep(options.seconds * 1000);
  running = false;
  const elapsed = (performance.now() - started) / 1000;
  const counted = ops;
  await Promise.all(done);
  for (const ws of sockets) ws.close();
  return { ops: counted, errors, opsPerSecond: counted / elapsed };
}

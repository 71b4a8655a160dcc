/** Plain protocol clients: sockets, a single request, and filling a key space. */
import { type Protocol, SUBPROTOCOL_V2, valueText } from "./requests.ts";

/**
 * Opens `count` sockets spread over `urls`. Protocol 2 offers `kvfleet.v2`
 * and rejects unless every server selected it; protocol 1 offers nothing.
 */
export async function connect(
  urls: string[],
  count: number,
  protocol: Protocol = 1,
): Promise<WebSocket[]> {
  const offered = protocol === 2 ? SUBPROTOCOL_V2 : "";
  const opened = await Promise.allSettled(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const url = urls[i % urls.length] as string;
          const ws = protocol === 2 ? new WebSocket(url, SUBPROTOCOL_V2) : new WebSocket(url);
          ws.onopen = () => {
            if (ws.protocol === offered) resolve(ws);
            else {
              ws.close();
              reject(
                new Error(
                  `${url} selected subprotocol ${JSON.stringify(ws.protocol)}, not ${JSON.stringify(offered)}: it does not speak protocol ${protocol}`,
                ),
              );
            }
          };
          // Bun's client also fails here when the server selects no subprotocol.
          const offering = protocol === 2 ? ` offering subprotocol ${SUBPROTOCOL_V2}` : "";
          ws.onerror = () => reject(new Error(`cannot connect to ${url}${offering}`));
        }),
    ),
  );
  const failed = opened.find((o) => o.status === "rejected");
  if (failed === undefined)
    return opened.map((o) => (o as PromiseFulfilledResult<WebSocket>).value);
  for (const o of opened) if (o.status === "fulfilled") o.value.close();
  throw failed.reason;
}

/** Sends one message on a fresh connection and answers the first reply. */
export async function request(url: string, text: string): Promise<string> {
  const [ws] = await connect([url], 1);
  const socket = ws as WebSocket;
  const reply = await new Promise<string>((resolve, reject) => {
    socket.onmessage = (event) => resolve(event.data as string);
    socket.onclose = (event) => reject(new Error(`${url} closed ${event.code} before answering`));
    socket.send(text);
  });
  socket.onclose = null;
  socket.close();
  return reply;
}

/** The KV_SETQ messages (protocol 1) that store `key:0` .. `key:<keys - 1>`, `batch` keys each. */
export function prefillMessages(keys: number, valueSize: number, batch = 100): string[] {
  const value = valueText(valueSize);
  const messages: string[] = [];
  for (let from = 0; from < keys; from += batch) {
    const members: string[] = [];
    for (let i = from; i < Math.min(keys, from + batch); i++) members.push(`"key:${i}":${value}`);
    messages.push(`{"KV_SETQ":{${members.join(",")}}}`);
  }
  return messages;
}

/**
 * Fills `key:0` .. `key:<keys - 1>` through one or several URLs with
 * KV_SETQ messages of `batch` keys (quiet: no answer on success), each
 * group followed by a KV_COUNT whose answer acknowledges it, so a node's
 * backlog stays small. Throws on any failure answer.
 */
export async function prefill(
  urls: string[],
  keys: number,
  valueSize: number,
  { batch = 100, group = 20, connections = 4 } = {},
): Promise<void> {
  const messages = prefillMessages(keys, valueSize, batch);
  for (const url of urls) {
    const sockets = await connect([url], connections);
    let nextGroup = 0;
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve, reject) => {
            const sendGroup = () => {
              const from = nextGroup * group;
              nextGroup++;
              if (from >= messages.length) {
                resolve();
                return;
              }
              for (let i = from; i < Math.min(messages.length, from + group); i++)
                ws.send(messages[i] as string);
              ws.send('{"KV_COUNT":{}}');
            };
            ws.onmessage = (event) => {
              const text = event.data as string;
              if (!text.startsWith('{"KV_COUNT_RSP":{"st":1,')) {
                reject(new Error(`prefill of ${url} failed: ${text.slice(0, 200)}`));
                return;
              }
              sendGroup();
            };
            ws.onclose = (event) => reject(new Error(`prefill: ${url} closed ${event.code}`));
            sendGroup();
          }),
      ),
    );
    for (const ws of sockets) {
      ws.onclose = null;
      ws.close();
    }
  }
}

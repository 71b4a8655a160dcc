/**
 * The ordinary client beside the slow reader: one request at a time, each
 * round trip recorded, to see what a slow client costs the others.
 */
import { connect } from "./client.ts";
import { newHistogram, summarise } from "./latency.ts";

/**
 * Starts the client on `key`: one KV_GET at a time from now on, round trips
 * recorded from record() on; stop() waits (bounded) for the request in flight.
 */
export async function startProbe(url: string, key: string) {
  const [ws] = await connect([url], 1);
  const socket = ws as WebSocket;
  const request = `{"KV_GET":[${JSON.stringify(key)}]}`;
  const prefix = `{"KV_GET_RSP":{${JSON.stringify(key)}:`;
  const histogram = newHistogram();
  const errorSamples: string[] = [];
  let requests = 0;
  let errors = 0;
  let recording = false;
  let running = true;
  let sentAt = 0;
  let worstUs = 0;
  let worstAt = 0;
  let settle: () => void = () => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const fail = (text: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
  };
  const send = () => {
    sentAt = performance.now();
    socket.send(request);
  };
  socket.onmessage = (event) => {
    const latency = Math.round((performance.now() - sentAt) * 1000) || 1;
    const text = event.data as string;
    if (recording) {
      requests++;
      histogram.recordValue(latency);
      if (latency > worstUs) {
        worstUs = latency;
        worstAt = sentAt;
      }
      if (!text.startsWith(prefix) || !text.endsWith(',"st":1}}')) fail(text);
    }
    if (running) send();
    else settle();
  };
  socket.onclose = (event) => {
    if (running) fail(`connection closed: ${event.code} ${event.reason}`);
    running = false;
    settle();
  };
  send();
  return {
    record() {
      recording = true;
    },
    /** performance.now() when the slowest recorded request was sent. */
    worstSentAt: () => worstAt,
    async stop() {
      running = false;
      const answered = await Promise.race([
        settled.then(() => true),
        Bun.sleep(5000).then(() => false),
      ]);
      if (!answered) fail("last request unanswered after 5 s");
      socket.onclose = null;
      socket.close();
      // HDR percentiles are a bucket's upper end: with a few samples p99 can pass the true max.
      const l = summarise(histogram);
      const cap = (n: number) => Math.min(n, l.max);
      const latencyUs = {
        ...l,
        p50: cap(l.p50),
        p90: cap(l.p90),
        p99: cap(l.p99),
        p999: cap(l.p999),
      };
      return { requests, errors, latencyUs, errorSamples };
    },
  };
}

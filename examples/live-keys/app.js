// The keys under a prefix, kept live: a watch on the prefix, then a listing
// (KV_KEYS) and a read of each key listed; changes that arrive while the
// listing runs are held back and applied after it, so the list ends up in
// the store's state whatever order the two come in. A `reset` (the node may
// have missed changes, or the client reconnected) reloads the same way.
import { connect, readJson, writeJson } from "kvfleet-client";

const params = new URLSearchParams(location.search);
const url = params.get("url") ?? `ws://${location.hostname || "127.0.0.1"}:1987/`;
const token = params.get("token") ?? undefined;
const prefix = params.get("prefix") ?? "demo:";

const status = document.getElementById("status");
const list = document.getElementById("keys");
const form = document.getElementById("write");
document.getElementById("prefix").textContent = prefix;
form.elements.key.value = prefix;

/** The keys shown, with their values. */
let entries = new Map();
/** Events received while a listing runs, or null when none runs. */
let held = null;
/** Whether a reset came while a listing ran: list again once it ends. */
let again = false;

const show = (state, text) => {
  status.dataset.state = state;
  status.textContent = text;
};

function render() {
  const items = [...entries.keys()].sort().map((key) => {
    const item = document.createElement("li");
    item.dataset.key = key;
    const name = document.createElement("code");
    name.textContent = key;
    const value = document.createElement("span");
    value.className = "value";
    // The client's writer: big integers and long decimals keep their digits.
    value.textContent = writeJson(entries.get(key));
    const remove = document.createElement("button");
    remove.textContent = "remove";
    remove.addEventListener("click", () => db.remove(key).catch(failed));
    item.append(name, value, remove);
    return item;
  });
  list.replaceChildren(...items);
  show("live", `live: ${entries.size} key${entries.size === 1 ? "" : "s"}`);
}

function apply(event) {
  if (event.op === "set" || event.op === "append") entries.set(event.key, event.value);
  else if (event.op === "rmv" || event.op === "expire") entries.delete(event.key);
  else if (event.op === "clear") entries.clear();
}

async function reload() {
  if (held !== null) {
    again = true;
    return;
  }
  held = [];
  show("loading", "loading…");
  try {
    const keys = [];
    for await (const key of db.keys({ prefix })) keys.push(key);
    // One get per key (the client keeps a bounded number in flight): a getMany
    // of a whole page could pass the server's default 1 KiB message limit.
    const values = await Promise.all(keys.map((key) => db.get(key)));
    entries = new Map();
    keys.forEach((key, i) => {
      if (values[i] !== undefined) entries.set(key, values[i]);
    });
    for (const event of held) apply(event);
  } finally {
    held = null;
  }
  render();
  if (again) {
    again = false;
    await reload();
  }
}

function onEvent(event) {
  // The watch ended: the client was closed or gave up reconnecting.
  if (event.op === "closed") failed(event.error);
  else if (event.op === "reset") reload().catch(failed);
  else if (held !== null) held.push(event);
  else {
    apply(event);
    render();
  }
}

function failed(error) {
  show("error", `error: ${error.message ?? error}`);
  console.error(error);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (db === undefined) return;
  const key = form.elements.key.value;
  let value;
  try {
    // The client's reader, not JSON.parse: 2^64 + 1 is stored as typed.
    value = readJson(form.elements.value.value);
  } catch {
    failed(new Error("the value is not JSON"));
    return;
  }
  db.set(key, value).catch(failed);
});

let db;
try {
  db = await connect(url, { token });
  // The watch first: a change made while the list loads is then never missed.
  await db.watch({ prefixes: [prefix] }, onEvent);
  await reload();
} catch (error) {
  failed(error);
}

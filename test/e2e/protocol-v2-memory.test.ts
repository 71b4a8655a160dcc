import { protocolV2Suite } from "./protocol-v2-suite.ts";

// A memory store with room for nothing refuses every write that grows it with 100.
protocolV2Suite("the memory store", () => [], {
  args: () => ["--max-memory=1"],
  everything: false,
});

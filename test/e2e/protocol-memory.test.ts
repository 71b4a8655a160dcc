import { protocolSuite } from "./protocol-suite.ts";

protocolSuite("the memory store", () => []);

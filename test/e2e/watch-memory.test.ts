import { watchSuite } from "./watch-suite.ts";

watchSuite("the memory store", { args: () => [] });

// The script of the browser test's page: the shared client suite, its
// `node:test` resolved to the page harness, then a sign that every test is
// registered (the suite's top-level await has settled).
import "../client/api.test.ts";
import { ready } from "./page-harness.ts";

ready();

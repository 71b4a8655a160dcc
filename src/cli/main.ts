#!/usr/bin/env bun
import { serve } from "../serve.ts";
import { run } from "./run.ts";

// `serve` hands every argument after it to the server unparsed: its flags are the server's.
const argv = process.argv.slice(2);
if (argv[0] === "serve") serve(argv.slice(1), "kvfleet serve");
else process.exitCode = await run(argv, process.env);

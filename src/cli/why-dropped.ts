#!/usr/bin/env node
/** The `why-dropped` binary: `netfate why-dropped` under its own name. */
import { startCli } from "./start.js";

await startCli(["why-dropped", ...process.argv.slice(2)]);

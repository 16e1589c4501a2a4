#!/usr/bin/env node
/** The `why-dropped` binary: `netfate why-dropped` under its own name. */
import { main } from "./app.js";

process.exitCode = await main(["why-dropped", ...process.argv.slice(2)]);

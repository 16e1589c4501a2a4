#!/usr/bin/env node
/** The `netfate` binary. */
import { startCli } from "./start.js";

await startCli(process.argv.slice(2));

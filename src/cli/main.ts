#!/usr/bin/env node
/** The `netfate` binary. */
import { main } from "./app.js";

process.exitCode = main(process.argv.slice(2));

#!/usr/bin/env node
// Entry point: wiring only.
import { runCli } from './cli/cli.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exit(code);

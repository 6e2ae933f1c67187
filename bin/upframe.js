#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step between `npm install` and `upframe`.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Until the CLI installs its own handlers (loading it takes a while), a signal finds nothing started:
// exit at once with the code a cancel gives (130, or 129 for a hang-up), never a bare death by signal.
const early = { SIGINT: 130, SIGTERM: 130, SIGHUP: 129 };
const exitEarly = (signal) => process.exit(early[signal]);
for (const signal of Object.keys(early)) process.on(signal, exitEarly);
globalThis.upframeEarlySignals = () => {
  for (const signal of Object.keys(early)) process.off(signal, exitEarly);
};

// tsx looks for tsconfig.json in the working directory; ours holds the JSX setting wherever upframe runs.
// The variable also reaches the inference hosts, which run under the same loader.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
process.env.TSX_TSCONFIG_PATH ??= tsconfig;
register({ tsconfig });
await import('../src/cli.ts');

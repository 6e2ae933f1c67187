#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step between `npm install` and `upframe`.
// Until the CLI installs its own handlers (loading it takes a while), a signal finds nothing started:
// exit at once with the code a cancel gives (130, or 129 for a hang-up), never a bare death by signal.
// First of all, so only Node's own start-up comes before it: every import below is dynamic.
const early = { SIGINT: 130, SIGTERM: 130, SIGHUP: 129 };
const exitEarly = (signal) => process.exit(early[signal]);
for (const signal of Object.keys(early)) process.on(signal, exitEarly);
globalThis.upframeEarlySignals = () => {
  for (const signal of Object.keys(early)) process.off(signal, exitEarly);
};

const { fileURLToPath } = await import('node:url');
const { register } = await import('tsx/esm/api');

// tsx looks for tsconfig.json in the working directory; ours holds the JSX setting wherever upframe runs.
// The variable also reaches the inference hosts, which run under the same loader.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
process.env.TSX_TSCONFIG_PATH ??= tsconfig;
register({ tsconfig });
await import('../src/cli.ts');

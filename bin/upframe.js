#!/usr/bin/env node
// Runs the TypeScript sources, built on first use (bin/compile.js): no build step between `npm install` and
// `upframe`.
// Until the CLI installs its own handlers (loading it takes a while), a signal finds nothing started:
// exit at once with the code a cancel gives (130, or 129 for a hang-up), never a bare death by signal.
// First of all, so only Node's own start-up comes before it: every import below is dynamic.
const early = { SIGINT: 130, SIGTERM: 130, SIGHUP: 129 };
const exitEarly = (signal) => process.exit(early[signal]);
for (const signal of Object.keys(early)) process.on(signal, exitEarly);
globalThis.upframeEarlySignals = () => {
  for (const signal of Object.keys(early)) process.off(signal, exitEarly);
};

const { fileURLToPath, pathToFileURL } = await import('node:url');
const { join } = await import('node:path');
const { compiled } = await import('./compile.js');

// Built (bin/compile.js) when it can be: the sources compiled once, not by a loader at every start.
const build = compiled(fileURLToPath(new URL('..', import.meta.url)));
if (build) {
  // The hosts this CLI starts come from the same build.
  globalThis.upframeBuild = build;
  await import(pathToFileURL(join(build, 'cli.mjs')).href);
} else {
  const { register } = await import('tsx/esm/api');
  // tsx looks for tsconfig.json in the working directory; ours holds the JSX setting wherever upframe runs.
  // The variable also reaches the inference hosts, which run under the same loader.
  const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  process.env.TSX_TSCONFIG_PATH ??= tsconfig;
  register({ tsconfig });
  await import('../src/cli.ts');
}

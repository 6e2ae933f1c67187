#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step between `npm install` and `upframe`.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// tsx looks for tsconfig.json in the working directory; ours holds the JSX setting wherever upframe runs.
// The variable also reaches the inference hosts, which run under the same loader.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
process.env.TSX_TSCONFIG_PATH ??= tsconfig;
register({ tsconfig });
await import('../src/cli.ts');

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_MARKER_ENV } from '../../src/services/supervisor.js';
import { PACKAGE_ROOT, tsNodeArgs } from '../../src/services/paths.js';
import { describeProcess, markedProcesses, waitUntil } from '../helpers/invariants.js';

describe('a supervised child and an orchestrator killed just after spawning it', () => {
  it('the child never outlives it (the death signal is set before the child checks its parent)', { timeout: 60_000 }, async () => {
    // Without the check about one run in five left its `sleep 30` behind: 16 runs at once.
    const markers = Array.from({ length: 16 }, (_, n) => `upframe-die-after-spawn-${process.pid}-${n}`);
    await Promise.all(markers.map((marker) => new Promise<void>((resolve) => {
      const parent = spawn(process.execPath, tsNodeArgs(join(PACKAGE_ROOT, 'test', 'helpers', 'die-after-spawn.ts')), { env: { ...process.env, [RUN_MARKER_ENV]: marker }, stdio: 'ignore' });
      parent.on('exit', (_code, signal) => {
        expect(signal).toBe('SIGKILL');
        resolve();
      });
    })));
    const left = () => markers.flatMap((marker) => markedProcesses(marker));
    await waitUntil(() => left().length === 0, 1000);
    const survivors = left().map(describeProcess);
    for (const pid of left()) process.kill(pid, 'SIGKILL');
    expect(survivors).toEqual([]);
  });
});

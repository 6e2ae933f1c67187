import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostTag, isOwnerAlive, ownIdentity, ownerTag } from '../../src/services/owners.js';
import { sweepStalePartials } from '../../src/services/workdir.js';
import { scratchDir } from '../helpers/app.js';

const DEAD_PID = 2 ** 22 + 7; // above the kernel's pid_max default: never a live process

describe('owners of leftovers, across machines sharing a folder', () => {
  it('this process is alive; a dead pid on this machine is not; an owner on another machine counts as alive', () => {
    expect(isOwnerAlive(ownIdentity())).toBe(true);
    expect(ownIdentity().split(' ')[2]).toBe(hostTag());
    expect(isOwnerAlive(`${DEAD_PID} 1234 ${hostTag()}`)).toBe(false);
    expect(isOwnerAlive(`${DEAD_PID} 1234`)).toBe(false);
    expect(isOwnerAlive(`${DEAD_PID} 1234 h0badcafe`)).toBe(hostTag() !== 'h0badcafe');
  });

  it('the sweep removes a dead local owner\'s partial and keeps another machine\'s and its own', () => {
    const folder = join(scratchDir('upframe-owners-'), 'out');
    mkdirSync(folder);
    const foreign = hostTag() === 'h0badcafe' ? 'h0badcaff' : 'h0badcafe';
    const names = {
      deadLocal: `a.mp4.upframe-partial-${DEAD_PID}-1234-${hostTag()}-job-1`,
      deadLegacy: `b.mp4.upframe-partial-${DEAD_PID}-1234-job-2`,
      otherMachine: `c.mp4.upframe-partial-${DEAD_PID}-1234-${foreign}-job-3`,
      own: `d.mp4.upframe-partial-${ownerTag()}-job-4`,
    };
    for (const name of Object.values(names)) writeFileSync(join(folder, name), 'x');
    expect(sweepStalePartials(folder).map((path) => path.slice(folder.length + 1)).sort()).toEqual([names.deadLegacy, names.deadLocal].sort());
    expect(readdirSync(folder).sort()).toEqual([names.otherMachine, names.own].sort());
  });
});

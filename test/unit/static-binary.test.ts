import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStaticElf, staticBinaryEnv } from '../../src/services/static-binary.js';
import { scratchDir } from '../helpers/app.js';

const require = createRequire(import.meta.url);
const shipped = (pkg: string, name: string) => join(dirname(require.resolve(`${pkg}/package.json`)), name);

describe('a static build gets an iconv that cannot load the system\'s modules', () => {
  it('tells the npm-shipped ffmpeg and ffprobe (static) from node and sh (dynamic) and from a file that is no program', () => {
    const text = join(scratchDir(), 'not-a-program');
    writeFileSync(text, '#!/bin/sh\necho hello\n');
    expect(isStaticElf(shipped('@ffmpeg-installer/linux-x64', 'ffmpeg'))).toBe(true);
    expect(isStaticElf(shipped('@ffprobe-installer/linux-x64', 'ffprobe'))).toBe(true);
    expect(isStaticElf(process.execPath)).toBe(false);
    expect(isStaticElf('/bin/sh')).toBe(false);
    expect(isStaticElf(text)).toBe(false);
    expect(isStaticElf(join(dirname(text), 'missing'))).toBe(false);
  });

  it('points GCONV_PATH at the static binary\'s own folder, and leaves a dynamic one\'s environment alone', () => {
    const ffprobe = shipped('@ffprobe-installer/linux-x64', 'ffprobe');
    expect(staticBinaryEnv(ffprobe, { PATH: '/usr/bin' })).toEqual({ PATH: '/usr/bin', GCONV_PATH: dirname(ffprobe) });
    expect(staticBinaryEnv(process.execPath, { PATH: '/usr/bin' })).toBeUndefined();
  });
});

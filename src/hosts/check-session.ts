/**
 * `upframe doctor`'s onnxruntime check, run like the inference hosts (the orchestrator never loads
 * onnxruntime): lists the backends, creates a CPU session on the model given as argv[2], runs it once
 * on a tiny input, releases it, and prints one JSON line (`CheckSessionResult`) on stdout. With
 * `--cuda` it does the same on the CUDA provider, whose failure is reported, not fatal.
 */
import * as ort from 'onnxruntime-node';

export interface SessionRun {
  readonly provider: 'cpu' | 'cuda';
  readonly loadMs: number;
  readonly runMs: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

/** The host's one line on stdout. */
export type CheckSessionResult =
  | {
      readonly type: 'check-session';
      readonly ok: true;
      readonly version: string;
      readonly backends: readonly { readonly name: string; readonly bundled: boolean }[];
      readonly cpu: SessionRun;
      /** Only when asked with `--cuda`. */
      readonly cuda?: { readonly ok: true; readonly run: SessionRun } | { readonly ok: false; readonly error: string };
    }
  | { readonly type: 'check-session'; readonly ok: false; readonly error: string };

const SIDE = 8;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

async function runOnce(modelPath: string, provider: 'cpu' | 'cuda'): Promise<SessionRun> {
  const started = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: [provider], intraOpNumThreads: 1 });
  try {
    const loadMs = performance.now() - started;
    const meta = session.inputMetadata[0];
    const declared = meta?.isTensor ? meta.shape[1] : undefined;
    const channels = typeof declared === 'number' && declared > 0 ? declared : 3;
    const inputShape = [1, channels, SIDE, SIDE];
    const input = new ort.Tensor('float32', new Float32Array(channels * SIDE * SIDE), inputShape);
    const ran = performance.now();
    const results = await session.run({ [session.inputNames[0]]: input });
    const runMs = performance.now() - ran;
    const outputShape = [...results[session.outputNames[0]].dims];
    return { provider, loadMs: Math.round(loadMs), runMs: Math.round(runMs), inputShape, outputShape };
  } finally {
    await session.release();
  }
}

async function main(): Promise<CheckSessionResult> {
  const modelPath = process.argv[2];
  if (!modelPath) throw new Error('no model path given');
  const backends = ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  const cpu = await runOnce(modelPath, 'cpu');
  let cuda: Extract<CheckSessionResult, { ok: true }>['cuda'];
  if (process.argv.includes('--cuda')) {
    try {
      cuda = { ok: true, run: await runOnce(modelPath, 'cuda') };
    } catch (error) {
      cuda = { ok: false, error: firstLine(error) };
    }
  }
  return { type: 'check-session', ok: true, version: ort.env.versions.node ?? ort.env.versions.common, backends, cpu, cuda };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    const result: CheckSessionResult = { type: 'check-session', ok: false, error: firstLine(error) };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(1));
  },
);

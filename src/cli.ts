import { Command, CommanderError, Option } from 'commander';
import { UserError, exitCodeFor, formatUserError } from './services/errors.js';
import { doctorCommand } from './cli/doctor.js';
import { inspectCommand } from './cli/inspect.js';
import { modelsImport, modelsList, modelsVerify } from './cli/models.js';
import { jobOptions, startRequest, type RunFlags } from './cli/options.js';
import { pickFrontEnd, runCommand, runHeadless } from './cli/run.js';
import { makeDemoClip } from './services/demo.js';

function addRunOptions(command: Command): Command {
  return command
    .option('-o, --output <path>', 'output file, or folder (ending in /) for several inputs')
    .option('--model <name|file.onnx>', 'bundled model name or an ONNX file', undefined)
    .addOption(new Option('--scale <n>', 'output scale (1: no upscaling)').choices(['1', '2', '4']))
    .option('--interpolate <n>', 'multiply the frame rate by 2 or 4 with RIFE')
    .option('--fps <rate>', 'interpolate to this exact frame rate (e.g. 60 or 60000/1001)')
    .addOption(new Option('--order <order>', 'with both, which runs first').choices(['upscale-first', 'interpolate-first']))
    .option('--interpolation-model <name|file.onnx>', 'interpolation model (default rife-v4.6)')
    .option('--scene-threshold <x>', "scene score (0..1, ffmpeg's scale, default 0.3) above which a frame pair is a cut")
    .addOption(new Option('--device <device>', 'execution provider (auto: CUDA, then a hardware WebGPU adapter, then the CPU)').choices(['auto', 'cpu', 'webgpu', 'cuda']).default('auto'))
    .addOption(new Option('--precision <precision>', 'fp16 model copy (GPU providers; default there) or fp32 (default on the CPU)').choices(['fp16', 'fp32']))
    .option('--tile <n>', 'tile size in input pixels (0 = whole frame)')
    .option('--tta', 'self-ensemble: average the upscale model over 8 flips/rotations of each frame (= --ensemble 8; 8× the time)')
    .option('--ensemble <n>', 'self-ensemble of 2, 4 or 8 transforms (2: 0°/180°; 4: the four rotations; 8: and their mirror images)')
    .option('--steps <n>', "a steps model's runs per frame (default: its manifest's)")
    .option('--face-restore <name|file.onnx>', 'restore faces after upscaling with an imported restorer (upframe models import) or a file')
    .option('--face-strength <x>', 'restored face over the original, 0..1 (default 1)')
    .option('--face-min-size <px>', 'leave faces narrower than this many pixels alone (default 48)')
    .option('--face-fidelity <x>', "CodeFormer's fidelity weight, 0 (most restored) to 1 (closest to the input), default 0.5")
    .option('--face-detector <name|file.onnx>', 'a BlazeFace-layout face detector (default blazeface-back-256)')
    .option('--crf <n>', "encoder quality, in the encoder's scale (lower is better): x264/x265 0-51, vp9/av1 0-63")
    .option('--codec <codec>', "output video codec: h264, h265, vp9, av1 or ffv1 (default: the container's usual, h264 or vp9 for webm)")
    .option('--encoder <name>', 'a specific ffmpeg encoder (libx264, libx265, libvpx-vp9, libsvtav1, libaom-av1, ffv1, h264_nvenc, ...; see upframe doctor)')
    .option('--preset <name>', "the encoder's speed preset (x264/x265: ultrafast..placebo; vp9/libaom: 0-8; svt-av1: 0-13)")
    .option('--lossless', 'a lossless codec for the container: FFV1 in .mkv, x264 -qp 0 (RGB) in .mp4/.mov')
    .option('--overwrite', 'replace an existing output')
    .option('--fail-fast', 'stop a batch at its first failed item (running ones finish)')
    .option('--jobs <n>', 'items of a batch run at once (CPU cores shared between them; the GPU one at a time)')
    .option('--threads <n>', "onnxruntime's CPU threads per model host (default: the cores, shared between --jobs)")
    .addOption(new Option('--mode <mode>', 'segments: fixed chunks, or windows with context').choices(['chunked', 'context']))
    .option('--chunk <n>', 'chunked mode: frames per segment (default: a scene, or the whole video)')
    .option('--window <n>', 'context mode: frames per window, context included')
    .option('--overlap <k>', 'context mode: context frames on each side of a window')
    .option('--resume', 'keep finished segments in the temp dir and reuse them on the next run')
    .option('--scenes', 'detect scene cuts first: each scene is a segment, interpolation never blends across them')
    .option('--min-scene <n>', 'shortest scene in frames; shorter ones merge into the one before')
    .option('--temp-dir <dir>', 'work directory root (default $UPFRAME_TMPDIR or <tmp>/upframe)')
    .addOption(new Option('--grace <ms>').hideHelp())
    .option('--json', 'NDJSON events on stdout')
    .option('--trace <file.jsonl>', 'write every state transition as JSON lines')
    .option('--inspect', 'watch the statecharts live: the TUI panel open, or transitions on stderr');
}

const QUEUE_FLAGS = '--queue <redis://host:port[/db]>';
const QUEUE_HELP = 'submit the batch to a BullMQ queue over Redis and follow it (workers: upframe worker)';

/** The queue code (BullMQ, ioredis) is loaded only when a command names a queue. */
async function queueCommand(kind: 'run' | 'tui', inputs: string[], flags: RunFlags & { queue: string; start?: boolean }): Promise<number> {
  const { queueRunCommand, queueTuiCommand } = await import('./cli/queue-run.js');
  return kind === 'run' ? queueRunCommand(inputs, flags) : queueTuiCommand(inputs, flags);
}

async function tuiCommand(inputs: string[], flags: RunFlags & { start?: boolean }): Promise<number> {
  const { runTui } = await import('./cli/tui.js');
  const request = inputs.length > 0 && flags.output ? startRequest(inputs, flags) : undefined;
  return runTui({ request, options: jobOptions(flags), trace: flags.trace, inspect: flags.inspect, start: flags.start ?? false, exitOnIdle: false, form: { input: inputs[0], output: flags.output } });
}

async function demoCommand(flags: { json?: boolean }): Promise<number> {
  process.stderr.write('making a 3 s sample clip with ffmpeg…\n');
  const clip = await makeDemoClip();
  const request = startRequest([clip.input], { output: clip.output, overwrite: true });
  const front = pickFrontEnd(flags);
  const code =
    front === 'tui'
      ? await (await import('./cli/tui.js')).runTui({ request, start: true, exitOnIdle: false })
      : await runHeadless(request, front);
  if (code === 0) process.stderr.write(`output: ${clip.output}\n`);
  return code;
}

function program(setExit: (code: number) => void): Command {
  const root = new Command('upframe')
    .description('terminal video enhancer: ONNX upscaling with instant, leak-free cancel')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  const run = (p: Promise<number> | number): Promise<void> => Promise.resolve(p).then(setExit);

  addRunOptions(root.command('tui', { isDefault: true }).description('interactive TUI (idle form; run, cancel, run again)').argument('[inputs...]'))
    .option('--start', 'start at once with the inputs given')
    .option(QUEUE_FLAGS, `${QUEUE_HELP}; with no inputs, follow the newest unfinished batch`)
    .action((inputs: string[], flags) => run(flags.queue ? queueCommand('tui', inputs, flags) : tuiCommand(inputs, flags)));
  addRunOptions(root.command('run').description('one-shot: TUI in a terminal, plain lines when piped').argument('<inputs...>'))
    .option(QUEUE_FLAGS, QUEUE_HELP)
    .action((inputs: string[], flags: RunFlags) => run(flags.queue ? queueCommand('run', inputs, { ...flags, queue: flags.queue }) : runCommand(inputs, flags)));
  addRunOptions(root.command('preview').description('one frame through the chain a run would use, as PNG; without -o shown in the terminal').argument('<input>'))
    .option('--at <time>', 'the frame shown at this time (seconds, or h:mm:ss.s); default the middle frame')
    .option('--frame <n>', 'this output frame (from 0; with interpolation, of the output)')
    .option('--compare', 'before | after: the source frame enlarged by nearest neighbour beside the result')
    .action(async (input: string, flags) => run((await import('./cli/preview.js')).previewCommand(input, flags)));
  root.command('demo').description('make a sample clip and upscale it with the bundled model').option('--json').action((flags) => run(demoCommand(flags)));
  root
    .command('inspect')
    .description('print the statecharts without running anything')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'scxml', 'json']).default('mermaid'))
    .option('--machine <name>', 'only this machine: app, batch, job or stage')
    .action((flags) => run(inspectCommand(flags)));
  const models = root.command('models').description('bundled models');
  models.command('list').action(() => run(modelsList()));
  models.command('verify').action(() => run(modelsVerify()));
  models
    .command('import')
    .description("copy a model you have into your model store ($XDG_DATA_HOME/upframe/models), checked and recorded with its sha256")
    .argument('<file>')
    .option('--kind <kind>', 'face-restore (an aligned-crop face restorer: GFPGAN, CodeFormer, GPEN, RestoreFormer) or face-detect')
    .option('--name <name>', 'the name to use it by (default: the file name without .onnx)')
    .action((file: string, flags: { kind?: string; name?: string }) => run(modelsImport(file, flags)));
  root
    .command('doctor')
    .description('ffmpeg, onnxruntime providers, GPU, models, temp dir')
    .option('--json')
    .option('--queue <redis://host:port[/db]>', 'check the queue instead: the connection, the workers seen, unfinished batches')
    .action(async (flags: { json?: boolean; queue?: string }) =>
      run(flags.queue ? (await import('./cli/queue-doctor.js')).queueDoctorCommand({ ...flags, queue: flags.queue }) : doctorCommand(flags)),
    );
  root
    .command('worker')
    .description('take items from a queue and run them here (Ctrl-C: stop, handing running items back)')
    .requiredOption('--queue <redis://host:port[/db]>', 'the queue (a Redis server every worker and submitter reaches)')
    .option('--name <name>', 'this worker, as submitters and doctor show it (default <host>-<pid>)')
    .addOption(new Option('--device <device>', 'execution provider for every item here (default: the submitter\'s)').choices(['auto', 'cpu', 'webgpu', 'cuda']))
    .option('--jobs <n>', 'items run here at once (default 1)')
    .option('--temp-dir <dir>', 'work directory root here (default: the submitter\'s --temp-dir if it gave one, else $UPFRAME_TMPDIR or <tmp>/upframe)')
    .option('--json', 'NDJSON events on stdout')
    .option('--trace <file.jsonl>', 'write every state transition as JSON lines')
    .option('--inspect', 'watch the statecharts live')
    .action(async (flags) => run((await import('./cli/worker.js')).workerCommand(flags)));
  root
    .command('status')
    .description('batches on a queue; follow one (the newest unfinished, or BATCH) as its submitter would')
    .argument('[batch]')
    .requiredOption('--queue <redis://host:port[/db]>', 'the queue')
    .option('--json', 'NDJSON on stdout')
    .option('--list', 'list only, follow nothing')
    .option('--cancel', 'cancel the batch followed')
    .action(async (batch: string | undefined, flags) => run((await import('./cli/status.js')).statusCommand(batch, flags)));
  return root;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    process.stderr.write(`upframe: ${error.message.replace(/^error: /, '')} (see upframe --help)\n`);
    return 2;
  }
  if (error instanceof UserError) {
    process.stderr.write(`upframe: ${formatUserError(error)}\n`);
    return exitCodeFor(error.kind);
  }
  process.stderr.write(`upframe: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.UPFRAME_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return 1;
}

let exitCode = 0;
try {
  await program((code) => (exitCode = code)).parseAsync(process.argv);
} catch (error) {
  exitCode = report(error);
}
// Pipes and files are written synchronously on Linux, so nothing printed is lost by exiting here.
process.exit(exitCode);

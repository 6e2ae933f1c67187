import { and, assign, enqueueActions, fromCallback, sendParent, sendTo, setup, type ActorRefFrom, type DoneActorEvent } from 'xstate';
import type { JobError } from '../services/errors.js';
import type { MediaInfo } from '../services/ffmpeg/probe.js';
import type { ResolvedModel } from '../services/models.js';
import { stageMachine, type StageNoticeEvent, type StageOutput, type StageProgressEvent } from './stage.js';
import type { JobOutput, JobSpec, Progress, Rate, StageName } from './types.js';

export type HostStep = 'upscale' | 'interpolate';

export interface InterpolationPlan {
  readonly model: ResolvedModel;
  readonly outRate: Rate;
  readonly outputFrames: number;
}

/** What the probe found and decided: the input's streams and the chain of hosts to run. */
export interface ProbeResult {
  readonly media: MediaInfo;
  readonly steps: readonly HostStep[];
  readonly model?: ResolvedModel;
  readonly interpolation?: InterpolationPlan;
}

export interface Scene {
  readonly start: number;
  readonly end: number;
}

export interface ScenesResult {
  readonly scenes: readonly Scene[];
}

export interface ScenesWork extends JobSpec {
  readonly media: MediaInfo;
}

/** The processed frames: lossless segment files in order, their geometry and rate. */
export interface ProcessResult {
  readonly segments: readonly { readonly file: string; readonly frames: number }[];
  readonly frames: number;
  readonly frameWidth: number;
  readonly frameHeight: number;
  readonly outWidth: number;
  readonly outHeight: number;
  readonly rate: Rate;
  /** The --resume folder to remove once the output is in place. */
  readonly resumeDir?: string;
}

export interface ProbeWork extends JobSpec {}
export interface ProcessWork extends JobSpec {
  readonly jobDir: string;
  readonly plan: ProbeResult;
  readonly scenes?: readonly Scene[];
}
export interface AssembleWork extends JobSpec {
  readonly jobDir: string;
  readonly media: MediaInfo;
  readonly processed: ProcessResult;
}

export interface JobInput extends JobSpec {
  readonly jobDir: string;
}

interface JobContext extends JobInput {
  readonly stage?: StageName;
  readonly stageRef?: ActorRefFrom<typeof stageMachine>;
  readonly progress?: Progress;
  readonly probe?: ProbeResult;
  readonly processed?: ProcessResult;
  readonly scenes?: readonly Scene[];
  readonly error?: JobError;
  readonly status?: JobOutput['status'];
  /** A stage spawned while the job is paused starts paused. */
  readonly paused?: boolean;
}

export type JobEvent =
  | { readonly type: 'job.cancel' }
  | { readonly type: 'job.force' }
  | { readonly type: 'job.pause' }
  | { readonly type: 'job.resume' }
  | { readonly type: 'workdir.failed'; readonly error: JobError }
  | StageProgressEvent
  | StageNoticeEvent
  | DoneActorEvent<StageOutput>;

export type JobPhaseEvent = { readonly type: 'job.phase'; readonly jobId: string; readonly phase: string; readonly stage?: StageName };
export type JobScenesEvent = { readonly type: 'job.scenes'; readonly jobId: string; readonly scenes: readonly Scene[] };
export type JobNoticeEvent = { readonly type: 'job.notice'; readonly jobId: string; readonly stage: StageName; readonly message: string };
export type JobProgressEvent = { readonly type: 'job.progress'; readonly jobId: string; readonly stage: StageName; readonly progress: Progress };

function stageOutput(event: JobEvent): StageOutput | undefined {
  return 'output' in event ? (event.output as StageOutput) : undefined;
}

/**
 * One input → one output. Stages are spawned (not invoked) so that leaving a phase for
 * `cancelling` does not stop them: the current stage is told to cancel and the job waits for it.
 */
export const jobMachine = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobContext,
    events: {} as JobEvent,
    output: {} as JobOutput,
  },
  actors: {
    probe: stageMachine,
    scenes: stageMachine,
    /** decode → the plan's hosts → encode */
    process: stageMachine,
    assemble: stageMachine,
    /** Owns the job's temp folder: creates it on start, removes it when the job ends, whatever the way. */
    workdir: fromCallback<{ type: 'never' }, { jobDir: string }>(() => undefined),
  },
  guards: {
    stageDone: ({ event }) => stageOutput(event)?.status === 'done',
    scenesWanted: ({ context }) => Boolean(context.options.scenes),
    stageCancelled: ({ event }) => stageOutput(event)?.status === 'cancelled',
    outputCommitted: ({ event }) => {
      const output = stageOutput(event);
      return output?.name === 'assemble' && output.status === 'done';
    },
  },
  actions: {
    spawnProbe: assign({
      stage: 'probe' as const,
      progress: undefined,
      stageRef: ({ context, spawn }) =>
        spawn('probe', {
          id: 'probe',
          input: { name: 'probe', graceMs: context.options.graceMs, work: specOf(context) satisfies ProbeWork },
        }),
    }),
    spawnScenes: assign({
      stage: 'scenes' as const,
      progress: undefined,
      stageRef: ({ context, spawn }) =>
        spawn('scenes', {
          id: 'scenes',
          input: { name: 'scenes', graceMs: context.options.graceMs, work: { ...specOf(context), media: context.probe!.media } satisfies ScenesWork },
        }),
    }),
    recordScenes: assign({ scenes: ({ event }) => (stageOutput(event)?.result as ScenesResult).scenes }),
    reportScenes: sendParent(({ context }): JobScenesEvent => ({ type: 'job.scenes', jobId: context.id, scenes: context.scenes ?? [] })),
    spawnProcess: assign(({ context, spawn }) => {
      const name = context.probe!.steps.join('+') as StageName;
      return {
        stage: name,
        progress: undefined,
        stageRef: spawn('process', {
          id: 'process',
          input: {
            name,
            graceMs: context.options.graceMs,
            work: { ...specOf(context), jobDir: context.jobDir, plan: context.probe!, scenes: context.scenes } satisfies ProcessWork,
          },
        }),
      };
    }),
    spawnAssemble: assign({
      stage: 'assemble' as const,
      progress: undefined,
      stageRef: ({ context, spawn }) =>
        spawn('assemble', {
          id: 'assemble',
          input: {
            name: 'assemble',
            graceMs: context.options.graceMs,
            work: { ...specOf(context), jobDir: context.jobDir, media: context.probe!.media, processed: context.processed! } satisfies AssembleWork,
          },
        }),
    }),
    cancelStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.cancel' }),
    forceStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.force' }),
    pauseStage: enqueueActions(({ context, enqueue }) => {
      if (context.paused) enqueue.sendTo(context.stageRef!, { type: 'stage.pause' });
    }),
    resumeStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.resume' }),
    markPaused: assign({ paused: true }),
    markResumed: assign({ paused: false }),
    recordProbe: assign({ probe: ({ event }) => stageOutput(event)?.result as ProbeResult }),
    recordProcessed: assign({ processed: ({ event }) => stageOutput(event)?.result as ProcessResult }),
    recordError: assign({ error: ({ event }) => (event.type === 'workdir.failed' ? event.error : stageOutput(event)?.error) }),
    recordProgress: assign({ progress: ({ event }) => (event.type === 'stage.progress' ? event.progress : undefined) }),
    reportProgress: sendParent(({ context, event }): JobProgressEvent => ({
      type: 'job.progress',
      jobId: context.id,
      stage: event.type === 'stage.progress' ? event.stage : context.stage!,
      progress: event.type === 'stage.progress' ? event.progress : { done: 0, total: 0 },
    })),
    reportNotice: sendParent(({ context, event }): JobNoticeEvent => ({
      type: 'job.notice',
      jobId: context.id,
      stage: event.type === 'stage.notice' ? event.stage : context.stage!,
      message: event.type === 'stage.notice' ? event.message : '',
    })),
    reportPhase: sendParent(({ context }, params: { phase: string }): JobPhaseEvent => ({
      type: 'job.phase',
      jobId: context.id,
      phase: params.phase,
      stage: context.stage,
    })),
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({ ...input }),
  invoke: {
    id: 'workdir',
    src: 'workdir',
    input: ({ context }) => ({ jobDir: context.jobDir }),
  },
  initial: 'probing',
  on: {
    'stage.progress': { actions: ['recordProgress', 'reportProgress'] },
    'stage.notice': { actions: 'reportNotice' },
    'workdir.failed': { target: '.failing', actions: 'recordError' },
    'job.pause': { actions: ['markPaused', 'pauseStage'] },
    'job.resume': { actions: ['markResumed', 'resumeStage'] },
    // From every phase; `cancelling` and `failing` override them (the teardown is under way).
    'job.cancel': '.cancelling',
    'job.force': '.cancelling',
  },
  states: {
    probing: {
      entry: ['spawnProbe', 'pauseStage', { type: 'reportPhase', params: { phase: 'probing' } }],
      on: {
        'xstate.done.actor.probe': [
          { guard: and(['stageDone', 'scenesWanted']), target: 'detecting', actions: 'recordProbe' },
          { guard: 'stageDone', target: 'planning', actions: 'recordProbe' },
          { guard: 'stageCancelled', target: 'cancelled' },
          { target: 'failed', actions: 'recordError' },
        ],
      },
    },
    detecting: {
      entry: ['spawnScenes', 'pauseStage', { type: 'reportPhase', params: { phase: 'detecting scenes' } }],
      on: {
        'xstate.done.actor.scenes': [
          { guard: 'stageDone', target: 'planning', actions: ['recordScenes', 'reportScenes'] },
          { guard: 'stageCancelled', target: 'cancelled' },
          { target: 'failed', actions: 'recordError' },
        ],
      },
    },
    planning: {
      entry: { type: 'reportPhase', params: { phase: 'planning' } },
      always: 'processing',
    },
    processing: {
      entry: ['spawnProcess', 'pauseStage', { type: 'reportPhase', params: { phase: 'processing' } }],
      on: {
        'xstate.done.actor.process': [
          { guard: 'stageDone', target: 'assembling', actions: 'recordProcessed' },
          { guard: 'stageCancelled', target: 'cancelled' },
          { target: 'failed', actions: 'recordError' },
        ],
      },
    },
    assembling: {
      entry: ['spawnAssemble', 'pauseStage', { type: 'reportPhase', params: { phase: 'assembling' } }],
      on: {
        'xstate.done.actor.assemble': [
          { guard: 'stageDone', target: 'done' },
          { guard: 'stageCancelled', target: 'cancelled' },
          { target: 'failed', actions: 'recordError' },
        ],
      },
    },
    cancelling: {
      entry: ['cancelStage', { type: 'reportPhase', params: { phase: 'cancelling' } }],
      on: {
        'job.pause': {},
        'job.resume': {},
        'job.cancel': {},
        'job.force': { actions: 'forceStage' },
        'xstate.done.actor.*': [
          { guard: 'outputCommitted', target: 'done' },
          { target: 'cancelled' },
        ],
      },
    },
    // Same teardown as cancelling, for an error raised outside the current stage.
    failing: {
      entry: ['cancelStage', { type: 'reportPhase', params: { phase: 'failing' } }],
      on: {
        'job.pause': {},
        'job.resume': {},
        'job.cancel': {},
        'job.force': { actions: 'forceStage' },
        'xstate.done.actor.*': 'failed',
      },
    },
    done: { type: 'final', entry: assign({ status: 'done' as const }) },
    failed: { type: 'final', entry: assign({ status: 'failed' as const }) },
    cancelled: { type: 'final', entry: assign({ status: 'cancelled' as const }) },
  },
  output: ({ context }) => ({
    id: context.id,
    input: context.input,
    output: context.output,
    status: context.status ?? 'failed',
    frames: context.processed?.frames,
    error: context.error,
  }),
});

function specOf(context: JobContext): JobSpec {
  return { id: context.id, input: context.input, output: context.output, options: context.options };
}

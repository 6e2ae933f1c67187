import { assign, fromCallback, sendParent, sendTo, setup, type ActorRefFrom, type DoneActorEvent } from 'xstate';
import type {
  AssembleWork,
  JobError,
  JobOutput,
  JobSpec,
  ProbeResult,
  ProbeWork,
  ProcessResult,
  ProcessWork,
  Progress,
  Scene,
  ScenesResult,
  ScenesWork,
  StageName,
} from '../domain.js';
import { stageMachine, type StageCommittedEvent, type StageNoticeEvent, type StageOutput, type StageProgressEvent } from './stage.js';

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
  | { readonly type: 'job.pause' }
  | { readonly type: 'job.resume' }
  | { readonly type: 'workdir.failed'; readonly error: JobError }
  | StageProgressEvent
  | StageNoticeEvent
  | StageCommittedEvent
  | DoneActorEvent<StageOutput>;

export type JobPhaseEvent = { readonly type: 'job.phase'; readonly jobId: string; readonly phase: string; readonly stage?: StageName };
export type JobScenesEvent = { readonly type: 'job.scenes'; readonly jobId: string; readonly scenes: readonly Scene[] };
export type JobNoticeEvent = { readonly type: 'job.notice'; readonly jobId: string; readonly stage: StageName; readonly message: string };
export type JobProgressEvent = { readonly type: 'job.progress'; readonly jobId: string; readonly stage: StageName; readonly progress: Progress };

function stageOutput(event: JobEvent): StageOutput | undefined {
  return 'output' in event ? (event.output as StageOutput) : undefined;
}

function specOf(context: JobContext): JobSpec {
  return { id: context.id, input: context.input, output: context.output, options: context.options };
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
    /** Makes the job's temp folder and locks its output on start; lets both go when the job ends. */
    workdir: fromCallback<{ type: 'never' }, { jobDir: string; output: string }>(() => undefined),
  },
  guards: {
    stageDone: ({ event }) => stageOutput(event)?.status === 'done',
    stageDoneAndScenesWanted: ({ context, event }) => stageOutput(event)?.status === 'done' && Boolean(context.options.scenes),
  },
  actions: {
    spawnProbe: assign({
      stage: 'probe' as const,
      progress: undefined,
      stageRef: ({ context, spawn }) => spawn('probe', { id: 'probe', input: { name: 'probe', work: specOf(context) satisfies ProbeWork } }),
    }),
    spawnScenes: assign({
      stage: 'scenes' as const,
      progress: undefined,
      stageRef: ({ context, spawn }) =>
        spawn('scenes', { id: 'scenes', input: { name: 'scenes', work: { ...specOf(context), media: context.probe!.media } satisfies ScenesWork } }),
    }),
    recordScenes: assign({ scenes: ({ event }) => (stageOutput(event)?.result as ScenesResult).scenes }),
    reportScenes: sendParent(({ context }): JobScenesEvent => ({ type: 'job.scenes', jobId: context.id, scenes: context.scenes ?? [] })),
    spawnProcess: assign(({ context, spawn }) => {
      const name = context.probe!.steps.join('+') as StageName;
      const work: ProcessWork = { ...specOf(context), jobDir: context.jobDir, plan: context.probe!, scenes: context.scenes };
      return { stage: name, progress: undefined, stageRef: spawn('process', { id: 'process', input: { name, work } }) };
    }),
    spawnAssemble: assign(({ context, spawn }) => {
      const work: AssembleWork = { ...specOf(context), jobDir: context.jobDir, media: context.probe!.media, processed: context.processed! };
      return { stage: 'assemble' as const, progress: undefined, stageRef: spawn('assemble', { id: 'assemble', input: { name: 'assemble', work } }) };
    }),
    cancelStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.cancel' }),
    pauseStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.pause' }),
    resumeStage: sendTo(({ context }) => context.stageRef!, { type: 'stage.resume' }),
    /** A new stage learns whether the job is paused: one that starts while paused starts paused. */
    carryPauseToStage: sendTo(
      ({ context }) => context.stageRef!,
      ({ context }) => ({ type: context.paused ? ('stage.pause' as const) : ('stage.resume' as const) }),
    ),
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
    recordDone: assign({ status: 'done' as const }),
    recordFailed: assign({ status: 'failed' as const }),
    recordCancelled: assign({ status: 'cancelled' as const }),
    /** The job's last step, whatever its ending: the composition root gives it the real removal. */
    removeWorkdir: (_: unknown, _params: undefined) => undefined,
  },
}).createMachine({
  id: 'job',
  description: 'One input → one output, phase by phase; each phase spawns one stage and waits for it.',
  context: ({ input }) => ({ ...input }),
  invoke: {
    id: 'workdir',
    src: 'workdir',
    input: ({ context }) => ({ jobDir: context.jobDir, output: context.output }),
  },
  initial: 'active',
  on: {
    'stage.progress': { actions: ['recordProgress', 'reportProgress'] },
    'stage.notice': { actions: 'reportNotice' },
  },
  states: {
    active: {
      description: 'The working phases. A cancel, or a work folder that cannot be made, leaves them from here.',
      initial: 'probing',
      on: {
        'job.cancel': '#job.cancelling',
        'workdir.failed': { target: '#job.failing', actions: 'recordError' },
        'job.pause': { actions: ['markPaused', 'pauseStage'] },
        'job.resume': { actions: ['markResumed', 'resumeStage'] },
        'stage.committed': '#job.committed',
      },
      states: {
        probing: {
          description: 'Checks the paths, resolves the models, reads the streams and plans the chain of hosts.',
          entry: ['spawnProbe', 'carryPauseToStage', { type: 'reportPhase', params: { phase: 'probing' } }],
          on: {
            'xstate.done.actor.probe': [
              { guard: 'stageDoneAndScenesWanted', target: 'detecting', actions: 'recordProbe' },
              { guard: 'stageDone', target: 'processing', actions: 'recordProbe' },
              { target: '#job.failed', actions: 'recordError' },
            ],
          },
        },
        detecting: {
          description: '--scenes: one ffmpeg pass finds the cuts; each scene becomes a segment.',
          entry: ['spawnScenes', 'carryPauseToStage', { type: 'reportPhase', params: { phase: 'detecting scenes' } }],
          on: {
            'xstate.done.actor.scenes': [
              { guard: 'stageDone', target: 'processing', actions: ['recordScenes', 'reportScenes'] },
              { target: '#job.failed', actions: 'recordError' },
            ],
          },
        },
        processing: {
          description: 'Segment by segment: decode → inference hosts → a segment file in the output codec.',
          entry: ['spawnProcess', 'carryPauseToStage', { type: 'reportPhase', params: { phase: 'processing' } }],
          on: {
            'xstate.done.actor.process': [
              { guard: 'stageDone', target: 'assembling', actions: 'recordProcessed' },
              { target: '#job.failed', actions: 'recordError' },
            ],
          },
        },
        assembling: {
          description: 'Joins the segments with audio and subtitles into a partial file, then renames it into place (the commit point).',
          entry: ['spawnAssemble', 'carryPauseToStage', { type: 'reportPhase', params: { phase: 'assembling' } }],
          on: {
            'xstate.done.actor.assemble': [
              { guard: 'stageDone', target: '#job.done' },
              { target: '#job.failed', actions: 'recordError' },
            ],
          },
        },
      },
    },
    committed: {
      description: 'The output is in place: a cancel no longer undoes the job while the assemble stage ends.',
      on: {
        'xstate.done.actor.assemble': [{ guard: 'stageDone', target: 'done' }, { target: 'failed', actions: 'recordError' }],
      },
    },
    cancelling: {
      description: 'The current stage was told to cancel; waiting until it reports that nothing it owned is live.',
      entry: ['cancelStage', { type: 'reportPhase', params: { phase: 'cancelling' } }],
      on: { 'xstate.done.actor.*': 'cancelled' },
    },
    failing: {
      description: 'The same teardown as cancelling, for an error raised outside the current stage.',
      entry: ['cancelStage', { type: 'reportPhase', params: { phase: 'failing' } }],
      on: { 'xstate.done.actor.*': 'failed' },
    },
    done: { type: 'final', description: 'The output is in place; the temp folder is removed.', entry: ['recordDone', 'removeWorkdir'] },
    failed: { type: 'final', description: 'Failed with one error; the temp folder and any partial file are removed.', entry: ['recordFailed', 'removeWorkdir'] },
    cancelled: { type: 'final', description: 'Cancelled; the temp folder and any partial file are removed.', entry: ['recordCancelled', 'removeWorkdir'] },
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

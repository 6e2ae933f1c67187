import { assembleWork } from './actors/assemble.js';
import { probeWork } from './actors/probe.js';
import { scenesWork } from './actors/scenes.js';
import { processWork } from './actors/process.js';
import { workdirActor } from './actors/workdir.js';
import { appMachine } from './machines/app.js';
import { batchMachine } from './machines/batch.js';
import { jobMachine } from './machines/job.js';
import { stageMachine } from './machines/stage.js';
import { removeJobDir } from './services/workdir.js';

/** The composition root: the pure machines given the real stage actors and side effects. */
export const liveJobMachine = jobMachine.provide({
  actors: {
    probe: stageMachine.provide({ actors: { work: probeWork } }),
    scenes: stageMachine.provide({ actors: { work: scenesWork } }),
    process: stageMachine.provide({ actors: { work: processWork } }),
    assemble: stageMachine.provide({ actors: { work: assembleWork } }),
    workdir: workdirActor,
  },
  actions: {
    removeWorkdir: ({ context }) => removeJobDir(context.jobDir),
  },
});

export const liveAppMachine = appMachine.provide({
  actors: { batch: batchMachine.provide({ actors: { job: liveJobMachine } }) },
});

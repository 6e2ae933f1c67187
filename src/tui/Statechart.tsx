import { Box, Text } from 'ink';
import { useSelector } from '@xstate/react';
import type { ActorRefFrom, AnyActorRef, StateValue } from 'xstate';
import type { batchMachine } from '../machines/batch.js';
import type { jobMachine } from '../machines/job.js';
import type { stageMachine } from '../machines/stage.js';
import { stateValuePath } from './format.js';

type BatchRef = ActorRefFrom<typeof batchMachine>;
type JobRef = ActorRefFrom<typeof jobMachine>;
type StageRef = ActorRefFrom<typeof stageMachine>;

export interface StatechartProps {
  readonly appValue: StateValue;
  readonly runCount: number;
  /** The app's invoked batch (`snapshot.children.batch`), absent in idle. */
  readonly batchRef?: BatchRef;
}

/**
 * The live actor tree as indented text: app › batch › job › stages. Each level subscribes to
 * its own actor, so a stage moving on re-renders only its line.
 */
export function Statechart({ appValue, runCount, batchRef }: StatechartProps) {
  return (
    <Box flexDirection="column" borderStyle="single" borderDimColor paddingX={1}>
      <Text bold>Statechart</Text>
      <Node depth={0} name="app" value={stateValuePath(appValue)} note={runCount > 0 ? `run ${runCount}` : undefined} />
      {batchRef ? <BatchNode actor={batchRef} /> : null}
    </Box>
  );
}

function BatchNode({ actor }: { readonly actor: BatchRef }) {
  const value = useSelector(actor, (s) => stateValuePath(s.value));
  const index = useSelector(actor, (s) => s.context.index);
  const total = useSelector(actor, (s) => s.context.entries.length);
  const running = useSelector(actor, (s) => s.context.running);
  const note = total > 0 ? `item ${Math.min(index, total)}/${total}` : undefined;
  return (
    <>
      <Node depth={1} name="batch" value={value} note={note} />
      {Object.entries(running).map(([id, jobRef]) => (
        <JobNode key={id} actor={jobRef} />
      ))}
    </>
  );
}

function JobNode({ actor }: { readonly actor: JobRef }) {
  const value = useSelector(actor, (s) => stateValuePath(s.value));
  const id = useSelector(actor, (s) => s.context.id);
  const stageRef = useSelector(actor, (s) => s.context.stageRef);
  const workdirRef = useSelector(actor, (s) => s.children.workdir as AnyActorRef | undefined);
  return (
    <>
      <Node depth={2} name={`job ${id}`} value={value} />
      {workdirRef ? <ActorNode actor={workdirRef} name="workdir" /> : null}
      {stageRef ? <StageNode actor={stageRef} /> : null}
    </>
  );
}

function StageNode({ actor }: { readonly actor: StageRef }) {
  const value = useSelector(actor, (s) => stateValuePath(s.value));
  const name = useSelector(actor, (s) => s.context.name);
  return <Node depth={3} name={`stage ${name}`} value={value} />;
}

/** A child that is not a machine (the workdir callback): only its actor status. */
function ActorNode({ actor, name }: { readonly actor: AnyActorRef; readonly name: string }) {
  const status = useSelector(actor, (s) => String((s as { status?: unknown }).status ?? 'active'));
  return <Node depth={3} name={name} value={status} />;
}

function Node({ depth, name, value, note }: { readonly depth: number; readonly name: string; readonly value: string; readonly note?: string }) {
  return (
    <Text wrap="truncate-end">
      {depth > 0 ? `${'  '.repeat(depth - 1)}└ ` : ''}
      <Text bold>{name}</Text> <Text color="cyan">{value}</Text>
      {note ? <Text dimColor> ({note})</Text> : null}
    </Text>
  );
}

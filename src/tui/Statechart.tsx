import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { useSelector } from '@xstate/react';
import type { ActorRefFrom, AnyStateMachine, StateValue } from 'xstate';
import type { batchMachine } from '../machines/batch.js';
import type { jobMachine } from '../machines/job.js';
import type { stageMachine } from '../machines/stage.js';
import { viewChart, shortenEvent, type ChartExit, type ChartView } from './chart-view.js';
import { stateValuePath } from './format.js';
import { lookUpKeys } from './keys.js';

type BatchRef = ActorRefFrom<typeof batchMachine>;
type JobRef = ActorRefFrom<typeof jobMachine>;
type StageRef = ActorRefFrom<typeof stageMachine>;

export interface StatechartProps {
  readonly appValue: StateValue;
  readonly runCount: number;
  /** The app's invoked batch (`snapshot.children.batch`), absent in idle. */
  readonly batchRef?: BatchRef;
}

/** Only a move to another state re-renders a chart, not every progress report. */
const isSameState = (a: StateValue, b: StateValue): boolean => stateValuePath(a) === stateValuePath(b);

/**
 * The current job's and stage's statecharts, live: their states with the active one marked, what
 * it is for, and the transitions out of it with the keys that send them. App and batch are one line.
 */
export function Statechart({ appValue, runCount, batchRef }: StatechartProps) {
  return (
    <Box flexDirection="column" borderStyle="single" borderDimColor borderBottom={false} borderLeft={false} borderRight={false}>
      <Text wrap="truncate-end">
        <Text bold>Statechart</Text>
        <Text dimColor> app </Text>
        <Text color="cyan">{stateValuePath(appValue)}</Text>
        {runCount > 0 ? <Text dimColor> (run {runCount})</Text> : null}
        {batchRef ? <BatchLine actor={batchRef} /> : null}
      </Text>
      {batchRef ? <CurrentJob actor={batchRef} /> : null}
    </Box>
  );
}

function BatchLine({ actor }: { readonly actor: BatchRef }) {
  const value = useSelector(actor, (s) => stateValuePath(s.value));
  const index = useSelector(actor, (s) => s.context.index);
  const total = useSelector(actor, (s) => s.context.entries.length);
  const running = useSelector(actor, (s) => Object.keys(s.context.running).length);
  return (
    <>
      <Text dimColor> · batch </Text>
      <Text color="cyan">{value}</Text>
      <Text dimColor>
        {total > 0 ? ` (item ${Math.min(index, total)}/${total})` : ''}
        {running > 1 ? ` · ${running} jobs running, showing the oldest` : ''}
      </Text>
    </>
  );
}

/** The oldest running job: the one the job view shows. */
function CurrentJob({ actor }: { readonly actor: BatchRef }) {
  const jobRef = useSelector(actor, (s) => Object.values(s.context.running)[0]);
  return jobRef ? <JobChart actor={jobRef} /> : null;
}

function JobChart({ actor }: { readonly actor: JobRef }) {
  const machine = useSelector(actor, (s) => s.machine);
  const value = useSelector(actor, (s) => s.value, isSameState);
  const stageRef = useSelector(actor, (s) => s.context.stageRef);
  const view = useMemo(() => viewChart(machine, value, lookUpKeys), [machine, value]);
  return (
    <>
      <MachineChart title="job" view={view} />
      {stageRef ? <StageChart actor={stageRef} /> : null}
    </>
  );
}

function StageChart({ actor }: { readonly actor: StageRef }) {
  const machine = useSelector(actor, (s) => s.machine as AnyStateMachine);
  const value = useSelector(actor, (s) => s.value, isSameState);
  const name = useSelector(actor, (s) => s.context.name);
  const view = useMemo(() => viewChart(machine, value, lookUpKeys), [machine, value]);
  return <MachineChart title={`stage ${name}`} view={view} />;
}

const TITLE_WIDTH = 15;

function MachineChart({ title, view }: { readonly title: string; readonly view: ChartView }) {
  return (
    <Box flexDirection="column">
      {view.levels.map((level, n) => (
        <Text key={level.parent} wrap="truncate-end">
          <Text bold={n === 0} dimColor={n > 0}>
            {(n === 0 ? title : `${'  '.repeat(n - 1)}└ ${level.parent}`).padEnd(TITLE_WIDTH)}
          </Text>
          {level.states.map((state) => (
            <StateName key={state.key} name={state.key} active={state.active} />
          ))}
        </Text>
      ))}
      <Box paddingLeft={2}>
        <Text wrap="truncate-end">
          <Text color="cyan" bold>
            ▶ {view.active.key}
          </Text>
          {view.active.description ? <Text dimColor> {view.active.description}</Text> : null}
        </Text>
      </Box>
      <Box paddingLeft={4} flexWrap="wrap" columnGap={2}>
        {view.exits.map((exit, n) => (
          <Exit key={n} exit={exit} />
        ))}
      </Box>
    </Box>
  );
}

/** Marked twice: inverse colour for the eye, `▶` for a plain-text capture (tmux, logs). */
function StateName({ name, active }: { readonly name: string; readonly active: boolean }) {
  return active ? (
    <Text>
      {' '}
      <Text color="cyan" bold inverse>
        ▶{name}
      </Text>
    </Text>
  ) : (
    <Text dimColor>{`  ${name}`}</Text>
  );
}

function Exit({ exit }: { readonly exit: ChartExit }) {
  return (
    <Text wrap="truncate-end">
      {exit.keys ? (
        <Text bold color="cyan">
          {exit.keys}{' '}
        </Text>
      ) : null}
      {shortenEvent(exit.event)}
      {exit.guard ? <Text dimColor> [{exit.guard}]</Text> : null}
      {exit.target ? ` → ${exit.target}` : ''}
    </Text>
  );
}

import { Box, Text } from 'ink';
import type { BatchItem } from '../machines/batch.js';
import type { ItemStatus } from '../domain.js';
import { ProgressBar } from './ProgressBar.js';
import { StartButton } from './Form.js';

export interface JobViewProps {
  readonly items: readonly BatchItem[];
  /** e.g. `app.running.active › job processing › stage upscale` */
  readonly path: string;
  readonly cancelling: boolean;
  readonly paused: boolean;
}

/** The running view: Start disabled, Cancel shown, the current item's progress, the other items. */
export function JobView({ items, path, cancelling, paused }: JobViewProps) {
  const current = currentItem(items);
  return (
    <Box flexDirection="column">
      <Box>
        <StartButton running />
        <Text>{'   '}</Text>
        {cancelling ? <Text dimColor>Cancel (c)</Text> : <Text color="red">Cancel (c)</Text>}
      </Box>
      {current ? <CurrentItem item={current} /> : <Text dimColor>Starting…</Text>}
      <Text dimColor wrap="truncate-end">
        {path}
      </Text>
      {cancelling ? (
        <Text color="yellow">Cancelling…</Text>
      ) : paused ? (
        <Text color="yellow">Paused</Text>
      ) : null}
      {items.length > 1 ? <ItemList items={items} current={current} /> : null}
    </Box>
  );
}

function CurrentItem({ item }: { readonly item: BatchItem }) {
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-middle">
        {item.input} → {item.output}
      </Text>
      <Text>
        {item.phase ?? 'starting'}
        {item.stage ? ` · ${item.stage}` : ''}
        {item.progress?.segments ? ` · segment ${Math.min(item.progress.segment! + 1, item.progress.segments)}/${item.progress.segments}` : ''}
      </Text>
      <ProgressBar progress={item.progress} />
      {item.scenes ? <Scenes scenes={item.scenes} /> : null}
    </Box>
  );
}

function Scenes({ scenes }: { readonly scenes: NonNullable<BatchItem['scenes']> }) {
  const cuts = scenes.slice(1).map((scene) => scene.start);
  return (
    <Text dimColor wrap="truncate-end">
      {scenes.length} scene{scenes.length === 1 ? '' : 's'}
      {cuts.length > 0 ? ` · cuts at frames ${cuts.join(', ')}` : ''}
    </Text>
  );
}

const MARKS: Record<ItemStatus, string> = {
  pending: '·',
  running: '▶',
  done: '✓',
  failed: '✗',
  cancelled: '■',
  skipped: '↷',
};

function ItemList({ items, current }: { readonly items: readonly BatchItem[]; readonly current?: BatchItem }) {
  return (
    <Box flexDirection="column" marginTop={1}>
      {items.map((item, n) => (
        <Text key={item.id} bold={item === current} wrap="truncate-middle">
          {MARKS[item.status]} {n + 1}. {item.input} {item.status}
        </Text>
      ))}
    </Box>
  );
}

export function currentItem(items: readonly BatchItem[]): BatchItem | undefined {
  return items.find((item) => item.status === 'running');
}

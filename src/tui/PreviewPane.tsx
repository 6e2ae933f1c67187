import { useMemo } from 'react';
import { Box, Text } from 'ink';
import type { StartRequest } from '../domain.js';
import type { FormValues } from './form-fields.js';
import { fitSize, halfBlockRows, resample, type Picture } from './picture.js';

/** The newest picture pair of a running job: an output frame and the source frame it comes from. */
export interface PanePair {
  readonly frame: number;
  readonly sourceFrame: number;
  readonly outputFrames: number;
  readonly source: Picture;
  readonly output: Picture;
}

/** What the front end gives the TUI to show pictures with: it does the file and process work. */
export interface PreviewSource {
  /** False (NO_COLOR): the pane describes the pictures in words. */
  readonly colour: boolean;
  /** Cells wide and rows tall each running picture may take. */
  readonly maxWidth: number;
  readonly maxRows: number;
  /** The newest pair in a running job's folder (older pictures are removed); `read: false` only removes. */
  running(jobDir: string, read: boolean): Promise<PanePair | undefined>;
  /** A preview job for the form's settings (middle frame, before | after, into a temporary PNG), or what is wrong. */
  request(form: FormValues): StartRequest | { readonly error: string };
  /** The finished preview's picture, fitted to the pane; its file is removed. */
  still(output: string): Promise<Picture | undefined>;
}

export interface PanePicture {
  readonly label: string;
  readonly picture: Picture;
}

export interface PreviewPaneProps {
  /** Shown side by side, each fitted into `maxWidth` cells by `maxRows` rows. */
  readonly pictures: readonly PanePicture[];
  readonly caption: string;
  /** False (NO_COLOR): the pane says what it would show, in words. */
  readonly colour: boolean;
  readonly maxWidth: number;
  readonly maxRows: number;
  /** What to say while there is no picture yet. */
  readonly waiting?: string;
}

const GAP = '  ';

/**
 * The preview pane (`v`): pictures as rows of half blocks inside Ink (Kitty, iTerm2 or sixel images
 * drawn under Ink's redraws would be erased or left behind; half blocks are text, so Ink places,
 * redraws and clears them like any line). The rows are built once per picture, not per render.
 */
export function PreviewPane({ pictures, caption, colour, maxWidth, maxRows, waiting }: PreviewPaneProps) {
  const drawn = useMemo(
    () =>
      pictures.map(({ label, picture }) => {
        const size = fitSize(picture.width, picture.height, maxWidth, maxRows * 2);
        // A column is as wide as its picture, or its label where that is longer (within the box).
        const width = Math.max(size.width, Math.min(label.length, maxWidth));
        const rows = colour ? halfBlockRows(resample(picture, size.width, size.height)).map((row) => row + ' '.repeat(width - size.width)) : [];
        return { label, width, rows, source: picture };
      }),
    [pictures, colour, maxWidth, maxRows],
  );
  if (drawn.length === 0) {
    return (
      <Box flexDirection="column" marginTop={1}>
        <Text bold>Preview</Text>
        <Text dimColor>{waiting ?? 'no picture yet'}</Text>
      </Box>
    );
  }
  if (!colour) {
    return (
      <Box flexDirection="column" marginTop={1}>
        <Text bold>Preview <Text dimColor>{caption}</Text></Text>
        <Text dimColor>
          {drawn.map((d) => `${d.label} ${d.source.width}×${d.source.height}`).join(' · ')} (pictures need colour: NO_COLOR is set)
        </Text>
      </Box>
    );
  }
  const height = Math.max(...drawn.map((d) => d.rows.length));
  const lines = Array.from({ length: height }, (_, y) => drawn.map((d) => d.rows[y] ?? ' '.repeat(d.width)).join(GAP));
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold wrap="truncate-end">
        Preview <Text dimColor>{caption}</Text>
      </Text>
      <Text wrap="truncate-end">{drawn.map((d) => d.label.slice(0, d.width).padEnd(d.width)).join(GAP)}</Text>
      {lines.map((line, y) => (
        <Text key={y} wrap="truncate-end">
          {line}
        </Text>
      ))}
    </Box>
  );
}

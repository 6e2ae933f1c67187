import type { Device, ErrorKind, Rate } from '../domain.js';

/** Passed to the upscale host as its single argv JSON argument. */
export interface UpscaleHostConfig {
  readonly modelPath: string;
  readonly device: Device;
  readonly tileSize: number;
  readonly overlap: number;
  readonly scale?: number;
  readonly width: number;
  readonly height: number;
  /** For progress only: the host counts what it really receives. */
  readonly frameCount: number;
  /** Of the frames received, the first to emit and how many (the rest is context); default all. */
  readonly emitStart?: number;
  readonly emitCount?: number;
  /** Wait for a {@link SegmentMessage} after `ready` (its fields override these). */
  readonly awaitSegment?: boolean;
  /** onnxruntime intra-op threads (default: all cores). */
  readonly threads?: number;
}

/** Passed to the interpolation host as its single argv JSON argument. */
export interface InterpolateHostConfig {
  readonly modelPath: string;
  readonly device: Device;
  readonly width: number;
  readonly height: number;
  readonly inRate: Rate;
  readonly outRate: Rate;
  /** Source frames, for progress only: the output count follows what really arrives. */
  readonly frameCount: number;
  readonly sceneThreshold: number;
  /** Source frames that start a scene, when scene detection ran: pairs ending there are never blended. */
  readonly cuts?: readonly number[];
  /** Source index of the first frame received (a segment's start), and the output frames [from, to) to write. */
  readonly firstSource?: number;
  readonly outputFrom?: number;
  readonly outputTo?: number;
  readonly awaitSegment?: boolean;
  readonly threads?: number;
}

/** What a host is to emit of the frames it receives, sent once the plan is known (after `ready`). */
export interface SegmentMessage {
  readonly type: 'segment';
  readonly emitStart?: number;
  readonly emitCount?: number;
  readonly firstSource?: number;
  readonly outputFrom?: number;
  readonly outputTo?: number;
}

export type HostMessage =
  | { readonly type: 'ready'; readonly scale?: number; readonly frames?: number; readonly provider: 'cpu' | 'cuda'; readonly fallbackReason?: string }
  | { readonly type: 'frame'; readonly done: number }
  | { readonly type: 'done'; readonly frames: number }
  | { readonly type: 'error'; readonly kind: ErrorKind; readonly message: string };

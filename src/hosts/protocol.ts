import type { DeviceOption } from '../services/upscaler.js';
import type { ErrorKind } from '../services/errors.js';
import type { Rational } from '../services/ffmpeg/probe.js';

/** Passed to the upscale host as its single argv JSON argument. */
export interface UpscaleHostConfig {
  readonly modelPath: string;
  readonly device: DeviceOption;
  readonly tileSize: number;
  readonly overlap: number;
  readonly scale?: number;
  readonly width: number;
  readonly height: number;
  /** For progress only: the host counts what it really receives. */
  readonly frameCount: number;
}

/** Passed to the interpolation host as its single argv JSON argument. */
export interface InterpolateHostConfig {
  readonly modelPath: string;
  readonly device: DeviceOption;
  readonly width: number;
  readonly height: number;
  readonly inRate: Rational;
  readonly outRate: Rational;
  /** Source frames, for progress only: the output count follows what really arrives. */
  readonly frameCount: number;
  readonly sceneThreshold: number;
  /** Source frames that start a scene, when scene detection ran: pairs ending there are never blended. */
  readonly cuts?: readonly number[];
}

export type HostMessage =
  | { readonly type: 'ready'; readonly scale?: number; readonly provider: 'cpu' | 'cuda'; readonly fallbackReason?: string }
  | { readonly type: 'frame'; readonly done: number }
  | { readonly type: 'done'; readonly frames: number }
  | { readonly type: 'error'; readonly kind: ErrorKind; readonly message: string };

import type { Device, ErrorKind, Rate, StepsSpec } from '../domain.js';

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
  /**
   * Serve a job: {@link SegmentMessage}s after `ready` (their fields override these), each over its
   * FIFOs, until the parent disconnects. Without: one segment on stdin → stdout, then exit.
   */
  readonly awaitSegment?: boolean;
  /** onnxruntime intra-op threads (default: all cores). */
  readonly threads?: number;
  /** Self-ensemble: 2, 4 or 8 transforms of each frame, averaged (1 or absent: none). */
  readonly ensemble?: number;
  /** A steps model's manifest (its sidecar); without one, a model with an image and a scalar input is one too. */
  readonly stepsSpec?: StepsSpec;
  /** `--steps N`: a steps model's runs per frame. */
  readonly steps?: number;
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

/** Passed to the face restoration host as its single argv JSON argument. */
export interface FaceHostConfig {
  readonly restorerPath: string;
  readonly detectorPath: string;
  readonly device: Device;
  readonly width: number;
  readonly height: number;
  /** For progress only. */
  readonly frameCount: number;
  /** Restored over original, 0..1 (default 1). */
  readonly strength?: number;
  /** Faces narrower than this (box width, in the frame's pixels) are left alone. */
  readonly minSize?: number;
  /** CodeFormer's fidelity weight, for a restorer that takes one. */
  readonly fidelity?: number;
  readonly emitStart?: number;
  readonly emitCount?: number;
  readonly awaitSegment?: boolean;
  readonly threads?: number;
}

/**
 * What a host is to emit of the frames it receives, one per segment (after `ready`), and the FIFOs
 * (job folder) to read them from and write its own to: the host reads `input` to EOF, closes
 * `output`, reports `done`, and waits for the next.
 */
export interface SegmentMessage {
  readonly type: 'segment';
  readonly input?: string;
  readonly output?: string;
  /** Read this many frames, not to EOF: the input goes on with the next segment's (one decoder for a run). */
  readonly inputFrames?: number;
  /** The next segment reads on from this input: leave it open. */
  readonly keepInput?: boolean;
  readonly emitStart?: number;
  readonly emitCount?: number;
  readonly firstSource?: number;
  readonly outputFrom?: number;
  readonly outputTo?: number;
}

export type HostMessage =
  | {
      readonly type: 'ready'; readonly scale?: number; readonly frames?: number; readonly provider: 'cpu' | 'webgpu' | 'cuda'; readonly fallbackReason?: string;
      /** Model runs per frame when more than one (self-ensemble transforms, a steps model's steps). */
      readonly steps?: number;
      /** What those runs are, for the notice: `self-ensemble ×8`, `12 steps`. */
      readonly stepsLabel?: string;
    }
  | { readonly type: 'frame'; readonly done: number }
  /** A line for the user (the TUI log, a --json `notice`), e.g. the face host's count of faces. */
  | { readonly type: 'notice'; readonly message: string }
  /**
   * Sent after each model run of a frame that takes several: `frame` is the count of frames this host
   * wrote before it (so the frame being computed is `frame + 1`), `step` the runs done in it (1..steps).
   */
  | { readonly type: 'step'; readonly frame: number; readonly step: number; readonly steps: number }
  | { readonly type: 'done'; readonly frames: number }
  | { readonly type: 'error'; readonly kind: ErrorKind; readonly message: string };

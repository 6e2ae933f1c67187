/**
 * The shared vocabulary of upframe: what a job is asked to do, what the probe finds and plans, what
 * the stages hand each other. Machines, actors, services and hosts all import these from here; this
 * module imports nothing, so no layer's types pull in another layer's code.
 */

/** An exact rate or ratio (frame rates: 24000/1001). */
export interface Rate {
  readonly num: number;
  readonly den: number;
}

/** Exit-code class of an error: `usage` and `input` exit 2, `runtime` exits 1. */
export type ErrorKind = 'usage' | 'input' | 'runtime';

/** Plain data that crosses actor and process boundaries (machines hold no Error instances). */
export interface JobError {
  readonly kind: ErrorKind;
  readonly message: string;
}

export type Device = 'auto' | 'cpu' | 'webgpu' | 'cuda';
/** `--precision`: an fp16 copy of the model where the device runs float16 (GPU providers). */
export type Precision = 'fp16' | 'fp32';
export type Order = 'upscale-first' | 'interpolate-first';
export type HostStep = 'upscale' | 'interpolate' | 'face';

/** The processing stage is named by the hosts it chains: `upscale`, `interpolate` or both. */
export type StageName = 'probe' | 'scenes' | 'upscale' | 'interpolate' | 'upscale+interpolate' | 'assemble' | `${string}face`;
export type StageStatus = 'done' | 'cancelled' | 'failed';
export type JobStatus = 'done' | 'failed' | 'cancelled' | 'skipped';
export type ItemStatus = 'pending' | 'running' | JobStatus;

/** ffmpeg's scene score (0..1) above which a frame pair is a cut: the usual `select='gt(scene,0.3)'`. */
export const DEFAULT_SCENE_THRESHOLD = 0.3;

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly fps?: number;
  readonly etaSec?: number;
  /** Segments done (the current one's index) and their count, when the video is cut in several. */
  readonly segment?: number;
  readonly segments?: number;
  /**
   * When a frame takes several model runs (self-ensemble, a steps model): the runs done in the frame
   * being computed (frame `done + 1`, 0..steps) and their count per frame. Absent for one run a frame.
   */
  readonly step?: number;
  readonly steps?: number;
}

export type Codec = 'h264' | 'h265' | 'vp9' | 'av1' | 'ffv1';

export interface JobOptions {
  readonly model?: string;
  /** Undefined: the model's own scale; 1: no upscaling. */
  readonly scale?: 1 | 2 | 4;
  /** Frame-rate multiplier (`--interpolate`), or an exact target rate (`--fps`). */
  readonly interpolate?: 2 | 4;
  readonly fps?: Rate;
  readonly order?: Order;
  readonly interpolationModel?: string;
  readonly sceneThreshold?: number;
  /** How the video is cut into segments: fixed chunks, or windows with context on each side. */
  readonly mode?: 'chunked' | 'context';
  readonly chunk?: number;
  readonly window?: number;
  readonly overlap?: number;
  /** Keep finished segments across runs (cancel, crash, SIGKILL) and reuse them. */
  readonly resume?: boolean;
  /** Detect scenes (their own stage) before processing. */
  readonly scenes?: boolean;
  readonly minScene?: number;
  /** Items run at once in a batch (`--jobs N`). */
  readonly jobs?: number;
  /** onnxruntime's CPU threads per host (`--threads N`); unset: the cores, shared among `--jobs`. */
  readonly threads?: number;
  /** Stop the batch at the first failed item (the rest are skipped). */
  readonly failFast?: boolean;
  readonly device: Device;
  /** Undefined: fp16 on a GPU that runs it when the model has an fp16 copy, else fp32. */
  readonly precision?: Precision;
  readonly tile?: number;
  readonly crf?: number;
  /** The output's video codec and encoder (`--codec`, `--encoder`); unset: the container's usual one. */
  readonly codec?: Codec;
  readonly encoder?: string;
  /** The encoder's speed preset (`--preset`), in its own names. */
  readonly preset?: string;
  /** A lossless codec for the container (`--lossless`): FFV1 in mkv, x264 `-qp 0` RGB in mp4/mov. */
  readonly lossless?: boolean;
  readonly overwrite: boolean;
  readonly tempRoot: string;
  /** Self-ensemble (`--ensemble N`, `--tta` = 8): the upscale model runs on N flips/rotations of each frame, averaged. */
  readonly ensemble?: 2 | 4 | 8;
  /** A steps model's model runs per frame (`--steps N`), instead of its manifest's count. */
  readonly steps?: number;
  /** Face restoration (`--face-restore NAME|file.onnx`): an imported restorer, or a file. */
  readonly faceRestore?: string;
  /** Restored face over the original, 0..1 (`--face-strength`, default 1). */
  readonly faceStrength?: number;
  /** Faces narrower than this many output pixels are left alone (`--face-min-size`). */
  readonly faceMinSize?: number;
  /** CodeFormer's fidelity weight, 0..1 (`--face-fidelity`). */
  readonly faceFidelity?: number;
  /** `--face-detector NAME|file.onnx`: a BlazeFace-layout detector instead of the bundled one. */
  readonly faceDetector?: string;
  /**
   * `upframe preview`: one output frame through the same chain, written as PNG instead of a video.
   * `frame` (an output frame index) or `atSec` (a time), else the middle frame; `compare`: the
   * source frame (enlarged by nearest neighbour) beside it.
   */
  readonly preview?: PreviewOptions;
  /**
   * While processing, the decoder and the encoder also write small images of the frames they pass,
   * now and then, into the job folder (the TUI's preview pane reads them), each fitting this box in
   * pixels. Headless runs leave it unset and write none.
   */
  readonly previews?: { readonly width: number; readonly height: number };
}

export interface PreviewOptions {
  readonly frame?: number;
  readonly atSec?: number;
  readonly compare: boolean;
}

export interface JobSpec {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly options: JobOptions;
}

export interface StartRequest {
  /** Unique across processes: names the jobs and their temp folders. */
  readonly runId?: string;
  readonly items: readonly { readonly input: string; readonly output: string }[];
  readonly options: JobOptions;
}

/** A job's temp folder: `<temp root>/job-<id>`, computed from data alone so machines can name it. */
export function jobDirPath(tempRoot: string, jobId: string): string {
  return `${tempRoot.replace(/\/+$/, '')}/job-${jobId}`;
}

/** HDR10's static metadata as x265 takes it: chromaticities in 0.00002 units, luminance in 0.0001 cd/m². */
export interface Hdr10 {
  /** `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`. */
  readonly masterDisplay?: string;
  /** `MaxCLL,MaxFALL` in cd/m². */
  readonly maxCll?: string;
}

/** A cover picture the source carries (ffprobe's `attached_pic`: MP4's cover art, a Matroska image attachment). */
export interface Cover {
  /** Its stream index in the source. */
  readonly index: number;
  /** `mjpeg` or `png`. */
  readonly codec: string;
  /** The name Matroska stored it under (`cover.jpg`), where it has one. */
  readonly filename?: string;
}

/** ffprobe's names: `bt709`, `bt2020`, `smpte2084` (PQ), `arib-std-b67` (HLG), `bt2020nc`, `tv`. */
export interface Colour {
  readonly primaries?: string;
  readonly transfer?: string;
  readonly matrix?: string;
  readonly range?: string;
  /** A PQ source's mastering display and light levels, from its container or its first frame. */
  readonly hdr10?: Hdr10;
}

export interface MediaInfo {
  /** Display size: ffmpeg's decoder applies the rotation, so frames arrive in this size. */
  readonly width: number;
  readonly height: number;
  readonly rotation: number;
  /** The rate frames are processed and written at: the source's own, or the grid a variable-rate source is put on. */
  readonly frameRate: Rate;
  /** The average rate the container gives (ffprobe `avg_frame_rate`), where it gives one. */
  readonly averageRate?: Rate;
  readonly frameCount: number;
  /**
   * Set when the source's frames are not on one constant grid (phones, screen recordings): they are
   * put on `frameRate`'s grid as they are decoded (ffmpeg's `fps`, a frame repeated where the source
   * left a gap, dropped where two fall in one slot), `frameCount` counts the grid's frames, and the
   * output keeps the source's timing and its sync with the audio.
   */
  readonly variableRate?: { readonly sourceFrames: number };
  /**
   * An interlaced source (ffprobe `field_order` tt, bb, tb or bt: broadcast, DVD, 1080i), field order
   * as ffprobe names it: its decoders deinterlace it (bwdif, one frame per frame) before anything else.
   */
  readonly interlaced?: { readonly fieldOrder: string };
  readonly durationSec: number;
  readonly pixFmt: string;
  /**
   * Seconds from the file's start (its earliest stream's first timestamp) to the picture's first
   * frame, where the sound or subtitles start earlier: the output's picture starts as late after its
   * sound. Unset when the picture starts first.
   */
  readonly pictureDelay?: number;
  /**
   * Non-square pixels (DVD, anamorphic HD): the source's sample aspect ratio as displayed (after its
   * rotation), kept by the output. Unset for square pixels.
   */
  readonly sampleAspect?: Rate;
  /** The video's colour description as ffprobe names it; a name it does not know is left out. */
  readonly colour?: Colour;
  readonly audioCodecs: readonly string[];
  readonly subtitleCodecs: readonly string[];
  /**
   * The processed video stream's index in the file (ffmpeg's `0:N`): where a file has several, the
   * largest picture (services/ffmpeg/probe.ts). Unset: the file's first video stream.
   */
  readonly videoStream?: number;
  /** The source's cover pictures, kept in the output where its container holds one (services/ffmpeg/covers.ts). */
  readonly covers?: readonly Cover[];
  /** The source's attachments other than pictures (Matroska's fonts), copied into a Matroska output. */
  readonly attachments?: number;
  /**
   * The kinds of stream the output's container refused as the assembly would copy them (checked while
   * probing, before any frame is made): the assembly converts them (audio to AAC or Opus, Matroska's
   * text subtitles to SubRip).
   */
  readonly convert?: { readonly audio?: true; readonly subtitles?: true };
  readonly formatName: string;
}

export type ModelKind = 'upscale' | 'interpolate' | 'face-detect' | 'face-restore';

export interface TileSpec {
  readonly multiple: number;
  readonly minSize: number;
  readonly defaultSize: number;
  readonly overlap: number;
}

export interface ResolvedModel {
  readonly name: string;
  readonly path: string;
  /** Known for bundled models; a file model's scale is measured by the host when it loads. */
  readonly scale?: number;
  readonly sha256?: string;
  readonly tile: TileSpec;
  /** `imported`: from the user's model store (`upframe models import`). */
  readonly origin: 'bundled' | 'file' | 'imported';
  /** A steps model, from its sidecar manifest (`model.onnx.json`, kind `steps`). */
  readonly steps?: StepsSpec;
}

/**
 * A steps (iterative) model: per frame the host runs it `steps` times, each run's output image the
 * next run's `image` input; `step` gets the schedule's value for the run. README, "Steps models".
 */
export interface StepsSpec {
  /** Runs per frame unless `--steps` says otherwise. */
  readonly steps: number;
  /** The most `--steps` may ask for. */
  readonly maxSteps: number;
  /**
   * The `step` input's value per run: absent, the run's index (0, 1, …); a list, the values of a run of
   * `maxSteps` runs (a shorter run takes them evenly spaced, first and last kept); a range, N values
   * evenly from `from` to `to`.
   */
  readonly schedule?: readonly number[] | { readonly from: number; readonly to: number };
  /** ONNX input names: the current image, the step, and optionally the source frame (low-resolution conditioning). */
  readonly inputs: { readonly image: string; readonly step: string; readonly source?: string };
  /** ONNX output name; default the model's first output. */
  readonly output?: string;
  /** The image's size over the source frame's: the first image is the frame enlarged by nearest neighbour. */
  readonly scale: number;
}

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
  /** Face restoration, the chain's last step: its restorer and detector. */
  readonly face?: { readonly restorer: ResolvedModel; readonly detector: ResolvedModel };
  /** A preview job: the one output frame to make, resolved from the options and checked against the output's length. */
  readonly preview?: { readonly frame: number; readonly compare: boolean };
}

export interface Scene {
  readonly start: number;
  readonly end: number;
}

export interface ScenesResult {
  readonly scenes: readonly Scene[];
}

/** The processed frames: segment files in the output's codec (a preview's: exact RGB) in order, their geometry and rate. */
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
  /** A preview job: its one frame (the only segment), and for `compare` the source frame it comes from, as PNG. */
  readonly preview?: { readonly frame: number; readonly sourceFrame: number; readonly compare: boolean; readonly sourceFile?: string };
}

/** What each stage's work is handed by the job. */
export type ProbeWork = JobSpec;
export interface ScenesWork extends JobSpec {
  readonly media: MediaInfo;
}
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

export interface JobOutput {
  readonly id: string;
  readonly input: string;
  readonly output: string;
  readonly status: JobStatus;
  readonly frames?: number;
  readonly error?: JobError;
}

export interface BatchOutput {
  readonly items: readonly JobOutput[];
  readonly cancelled: boolean;
}

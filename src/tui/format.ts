import type { StateValue } from 'xstate';

/** `mm:ss` (or `h:mm:ss` past an hour); `--:--` when unknown. */
export function formatEta(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '--:--';
  const whole = Math.round(sec);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** One decimal; `–` when unknown. */
export function formatFps(fps: number | undefined): string {
  if (fps === undefined || !Number.isFinite(fps) || fps < 0) return '–';
  return fps.toFixed(1);
}

/** A text bar `width` cells wide; empty when the total is unknown. */
export function bar(width: number, done: number, total: number): string {
  const cells = Math.max(0, Math.floor(width));
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * cells);
  return '█'.repeat(filled) + '░'.repeat(cells - filled);
}

/** Whole percent of done/total, clamped to 0..100; 0 when the total is unknown. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.round(Math.min(1, Math.max(0, done / total)) * 100);
}

/** `{ running: 'active' }` → `running.active`; parallel regions joined with `, `. */
export function stateValuePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined || (typeof child === 'object' && Object.keys(child).length === 0) ? key : `${key}.${stateValuePath(child)}`))
    .join(', ');
}

/** `app.running.active › job processing › stage upscale`. */
export function statePath(appValue: StateValue, item?: { readonly phase?: string; readonly stage?: string }): string {
  const parts = [`app.${stateValuePath(appValue)}`];
  if (item?.phase) parts.push(`job ${item.phase}`);
  if (item?.stage) parts.push(`stage ${item.stage}`);
  return parts.join(' › ');
}

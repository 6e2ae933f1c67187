import type { Rate } from '../domain.js';
import { UserError } from './errors.js';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function reduce(r: Rate): Rate {
  const g = gcd(r.num, r.den);
  return { num: r.num / g, den: r.den / g };
}

export function multiply(r: Rate, factor: number): Rate {
  return reduce({ num: r.num * factor, den: r.den });
}

export function compare(a: Rate, b: Rate): number {
  return a.num * b.den - b.num * a.den;
}

/** `60`, `59.94`, `60000/1001` → an exact rational; decimals keep the digits given. */
export function parseRate(text: string, flag: string): Rate {
  const fraction = /^(\d+)\/(\d+)$/.exec(text);
  const decimal = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  let rate: Rate | undefined;
  if (fraction) rate = { num: Number(fraction[1]), den: Number(fraction[2]) };
  else if (decimal) {
    const digits = decimal[2] ?? '';
    rate = { num: Number(`${decimal[1]}${digits}`), den: 10 ** digits.length };
  }
  if (!rate || rate.num <= 0 || rate.den <= 0) {
    throw new UserError(`${flag} expects a frame rate above 0, got "${text}"`, { kind: 'usage', tryMessage: `e.g. ${flag} 60 or ${flag} 60000/1001` });
  }
  return reduce(rate);
}

export function formatRate(r: Rate): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}

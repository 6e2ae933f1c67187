import { describe, expect, it } from 'vitest';
import { parseQueueUrl } from '../../src/queue/url.js';
import { UserError } from '../../src/services/errors.js';

describe('--queue URL', () => {
  it('host, port, database, password; the password never printed', () => {
    expect(parseQueueUrl('redis://render-box:6380/2')).toMatchObject({ host: 'render-box', port: 6380, db: 2, display: 'redis://render-box:6380/2' });
    expect(parseQueueUrl('redis://127.0.0.1')).toMatchObject({ port: 6379, db: 0 });
    const withPassword = parseQueueUrl('redis://:s%40cret@10.0.0.5:6379');
    expect(withPassword).toMatchObject({ password: 's@cret', username: undefined, display: 'redis://:***@10.0.0.5:6379/0' });
    expect(parseQueueUrl('redis://studio:pw@h/1')).toMatchObject({ username: 'studio', password: 'pw', db: 1 });
  });

  it.each([
    ['', /needs a Redis URL/],
    ['localhost:6379', /expects a redis:\/\/ URL/],
    ['http://h:6379', /expects a redis:\/\/ URL/],
    ['rediss://h:6379', /TLS/],
    ['redis://h:99999', /expects a redis|bad port/],
    ['redis://h:6379/abc', /database number/],
    ['redis://h:6379/0?x=1', /options after the path/],
  ])('refuses %j as a usage error (exit 2)', (text, message) => {
    let error: unknown;
    try {
      parseQueueUrl(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).kind).toBe('usage');
    expect((error as UserError).message).toMatch(message);
  });
});

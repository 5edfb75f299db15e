import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults for every variable', () => {
    expect(loadConfig({})).toEqual({
      host: '127.0.0.1',
      port: 3000,
      baseUrl: 'http://127.0.0.1:4000',
      failureThreshold: 5,
      recoveryTimeout: 60_000,
      requestTimeout: 2_000,
      maxConcurrent: 100,
    });
  });

  it('reads the environment; an empty value means the default; a trailing slash is dropped', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PORT: '8080',
      BASE_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
      FAILURE_THRESHOLD: ' 3 ',
      RECOVERY_TIMEOUT: '1500',
      REQUEST_TIMEOUT: '',
      MAX_CONCURRENT: '50',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 8080,
      baseUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      failureThreshold: 3,
      recoveryTimeout: 1500,
      requestTimeout: 2000,
      maxConcurrent: 50,
    });
  });

  it('MAX_CONCURRENT=0 means no cap', () => {
    expect(loadConfig({ MAX_CONCURRENT: '0' }).maxConcurrent).toBe(0);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'http'],
    ['FAILURE_THRESHOLD', '0'],
    ['FAILURE_THRESHOLD', '2.5'],
    ['FAILURE_THRESHOLD', 'five'],
    ['RECOVERY_TIMEOUT', '-1'],
    ['RECOVERY_TIMEOUT', '1e3'],
    ['REQUEST_TIMEOUT', '0'],
    ['REQUEST_TIMEOUT', '99999999999999999999'],
    ['MAX_CONCURRENT', '-1'],
    ['MAX_CONCURRENT', 'unlimited'],
    ['MAX_CONCURRENT', '1000001'],
    ['BASE_URL', 'not a url'],
    ['BASE_URL', 'ftp://example.com'],
    ['BASE_URL', 'http://example.com/?stage=dev'],
    // A bare `?` or `#` parses to an empty query or fragment, but `${baseUrl}/quote` would call `/`.
    ['BASE_URL', 'http://127.0.0.1:4000/?'],
    ['BASE_URL', 'http://127.0.0.1:4000#'],
  ])('refuses %s=%s with a message naming it and the value', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    const message = (() => {
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain(`${name} must be`);
    expect(message).toContain(`got ${JSON.stringify(value)}`);
  });

  it('lists every invalid variable at once', () => {
    try {
      loadConfig({ PORT: 'x', RECOVERY_TIMEOUT: 'y' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT must be[^\n]*\n\s+- RECOVERY_TIMEOUT must be/);
    }
  });

  it('the server stops at start with the message and exit code 2', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/consumer/server.ts'], {
      cwd: root,
      env: { ...process.env, FAILURE_THRESHOLD: 'abc', PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('consumer: Invalid configuration:');
    expect(result.stderr).toContain('FAILURE_THRESHOLD must be an integer from 1 to 1000000; got "abc"');
    expect(result.stdout).toBe('');
  });
});

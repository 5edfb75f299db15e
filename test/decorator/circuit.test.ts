import { describe, expect, expectTypeOf, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, circuit, circuitOf } from '../../src/index.js';

class Flaky {
  calls = 0;
  constructor(readonly fail: boolean) {}

  @circuit({ failureThreshold: 2, recoveryTimeout: 60_000 })
  async load(id: number, suffix: string): Promise<string> {
    this.calls++;
    if (this.fail) throw new Error(`down ${id}`);
    return `${id}${suffix}`;
  }
}

describe('@circuit', () => {
  it('passes arguments, `this` and the result through', async () => {
    const ok = new Flaky(false);
    await expect(ok.load(7, 'a')).resolves.toBe('7a');
    expect(ok.calls).toBe(1);
    expectTypeOf(ok.load).parameters.toEqualTypeOf<[number, string]>();
    expectTypeOf(ok.load).returns.toEqualTypeOf<Promise<string>>();
  });

  it('opens after the threshold and rejects without calling the method, shared by every instance', async () => {
    const bad = new Flaky(true);
    await expect(bad.load(1, '')).rejects.toThrow('down 1');
    await expect(bad.load(2, '')).rejects.toThrow('down 2');
    const other = new Flaky(false);
    await expect(other.load(3, '')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(other.calls).toBe(0);
    const breaker = circuitOf(Flaky.prototype.load);
    expect(breaker?.name).toBe('load');
    expect(breaker?.state).toBe('open');
    breaker?.close();
    await expect(other.load(3, '!')).resolves.toBe('3!');
  });

  it('uses a given breaker, shared between methods', async () => {
    const shared = new CircuitBreaker({ name: 'db', failureThreshold: 1 });
    class Repo {
      @circuit(shared)
      async read(): Promise<number> {
        throw new Error('no db');
      }
      @circuit(shared)
      async write(): Promise<number> {
        return 1;
      }
    }
    const repo = new Repo();
    await expect(repo.read()).rejects.toThrow('no db');
    await expect(repo.write()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(circuitOf(Repo.prototype.read)).toBe(shared);
    expect(circuitOf(Repo.prototype.write)).toBe(shared);
  });

  it('creates a default breaker without options and names it as given', async () => {
    class A {
      @circuit()
      async m(): Promise<undefined> {
        return undefined;
      }
      @circuit({ name: 'custom' })
      async n(): Promise<number> {
        return 2;
      }
    }
    await expect(new A().m()).resolves.toBeUndefined();
    expect(circuitOf(A.prototype.m)?.name).toBe('m');
    expect(circuitOf(A.prototype.n)?.name).toBe('custom');
    expect(circuitOf(() => 1)).toBeUndefined();
  });

  it('accepts only methods that return a promise (a type error otherwise)', () => {
    // Declared, never run: the compiler is the one judging this class.
    const declare = () => {
      class Sync {
        // @ts-expect-error: a sync method would silently become async
        @circuit()
        count(): number {
          return 1;
        }
      }
      return Sync;
    };
    expect(typeof declare).toBe('function');
  });

  it('refuses a non-method target and legacy decorator arguments', () => {
    const decorate = circuit() as unknown as (value: unknown, context: unknown) => unknown;
    expect(() => decorate(undefined, { kind: 'field', name: 'x' })).toThrow(/class methods.*got a field/);
    expect(() => decorate({}, 'method')).toThrow(/legacy/);
    expect(() => circuit({ failureThreshold: -1 })).not.toThrow();
    expect(() => decorate(async () => 1, { kind: 'method', name: 'x' })).not.toThrow();
    const bad = circuit({ failureThreshold: -1 }) as unknown as (value: unknown, context: unknown) => unknown;
    expect(() => bad(async () => 1, { kind: 'method', name: 'x' })).toThrow(RangeError);
  });

  it('names the breaker after the method unless a name is given (a name left undefined counts as none)', () => {
    const fromConfig: string | undefined = undefined;
    class A {
      @circuit({ name: fromConfig, failureThreshold: 2 })
      async load(): Promise<number> {
        return 1;
      }

      @circuit({ name: 'named' })
      async save(): Promise<number> {
        return 1;
      }
    }
    expect(circuitOf(A.prototype.load)?.name).toBe('load');
    expect(circuitOf(A.prototype.save)?.name).toBe('named');
  });

  it('keeps the method name on the decorated method (stack traces, logs, spies)', () => {
    class A {
      @circuit()
      async load(): Promise<number> {
        return 1;
      }
    }
    expect(A.prototype.load.name).toBe('load');
  });
});

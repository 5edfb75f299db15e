// The Lambda's environment (FAULT_MODE, FAULT_RATIO, FAULT_DELAY_MS) is refused at start with a message that
// names the variable and the value as given.
import { describe, expect, it } from 'vitest';
import { faultFromEnv } from './faults.js';

describe('faultFromEnv: a bad variable is named in the message', () => {
  it.each([
    ['FAULT_MODE', 'eror'],
    ['FAULT_RATIO', 'abc'],
    ['FAULT_DELAY_MS', '30000'],
  ])('%s=%s', (name, value) => {
    expect(() => faultFromEnv({ [name]: value })).toThrow(new RegExp(name));
  });

  it('FAULT_RATIO=abc does not report "got null"', () => {
    expect(() => faultFromEnv({ FAULT_RATIO: 'abc' })).toThrow(/"abc"/);
  });
});

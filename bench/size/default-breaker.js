// The size budget's fixture: the default breaker as a typical app builds it (see .size-limit.json).
import { CircuitBreaker } from '../../dist/index.js';

const breaker = new CircuitBreaker({
  failureThreshold: 5,
  recoveryTimeout: 30_000,
  timeout: 5_000,
  isFailure: (e) => !(e instanceof TypeError),
});
breaker.on('stateChange', (e) => console.log(e.from, e.to));
export default breaker;

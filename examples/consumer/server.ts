/**
 * Starts the consumer: `npm run consumer`. Configuration only from the environment
 * (PORT, BASE_URL, FAILURE_THRESHOLD, RECOVERY_TIMEOUT, REQUEST_TIMEOUT, MAX_CONCURRENT, HOST); an invalid
 * value stops it here with a message naming the variable.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createConsumer } from './app.js';
import { ConfigError, loadConfig } from './config.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`consumer: ${error.message}\n`);
  process.exit(2);
}

const { app, logger, monitor, closeStreams } = createConsumer(config);
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
  logger.info(
    {
      event: 'consumer.listening',
      breaker: 'quote-api',
      url: `http://${info.address}:${info.port}`,
      baseUrl: config.baseUrl,
      failureThreshold: config.failureThreshold,
      recoveryTimeout: config.recoveryTimeout,
      requestTimeout: config.requestTimeout,
      maxConcurrent: config.maxConcurrent,
    },
    `Consumer listening on http://${info.address}:${info.port}, calling ${config.baseUrl}/quote`,
  );
});

const stop = (signal: string) => {
  logger.info({ event: 'consumer.stopping', breaker: 'quote-api', signal }, `Stopping on ${signal}`);
  monitor.close();
  // Live-panel streams never end on their own: end them, and let the page loads still running finish
  // (each takes at most REQUEST_TIMEOUT) before the server closes.
  closeStreams();
  server.close(() => process.exit(0));
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  setTimeout(() => process.exit(0), config.requestTimeout + 1_000).unref();
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));

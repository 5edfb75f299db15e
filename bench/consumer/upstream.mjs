// The stand-in quote API of the consumer benchmark, run as a child process (forked, with an IPC channel) so that
// the load generator's busy event loop does not delay its answers.
//
// It listens on 127.0.0.1 only, on a port the system picks, and tells the parent through IPC. Messages:
//   { cmd: 'mode', mode, next?: { afterMs, mode } }  set how GET /quote answers, and optionally switch later
//   { cmd: 'stats' }                                 → { calls, held, byMode }
//   { cmd: 'reset' }                                 calls back to 0, held requests dropped
// Modes: 'ok' (200 with a quote), '502' (at once), 'hang' (never answers; the request is held until the
// client gives up). It exits when the parent goes away.
import { createServer } from 'node:http';

const QUOTE = JSON.stringify({ quote: 'Everything fails, all the time.', author: 'Werner Vogels', servedAt: new Date(0).toISOString() });

let mode = 'ok';
let switchTimer;
let calls = 0;
let byMode = {};
const held = new Set();

const server = createServer((req, res) => {
  if (req.url !== '/quote') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    return;
  }
  calls++;
  byMode[mode] = (byMode[mode] ?? 0) + 1;
  if (mode === 'hang') {
    held.add(res);
    res.on('close', () => held.delete(res));
    return;
  }
  if (mode === '502') {
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad gateway"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(QUOTE);
});
// Hanging requests must not be cut by the server's own timeouts: the consumer's timeout is what is measured.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 5_000;

const dropHeld = () => {
  for (const res of held) res.destroy();
  held.clear();
};

process.on('message', (message) => {
  switch (message.cmd) {
    case 'mode':
      clearTimeout(switchTimer);
      mode = message.mode;
      if (message.next !== undefined) {
        switchTimer = setTimeout(() => {
          mode = message.next.mode;
        }, message.next.afterMs);
      }
      process.send({ cmd: 'mode', mode });
      break;
    case 'stats':
      process.send({ cmd: 'stats', calls, held: held.size, byMode });
      break;
    case 'reset':
      clearTimeout(switchTimer);
      dropHeld();
      calls = 0;
      byMode = {};
      mode = 'ok';
      process.send({ cmd: 'reset' });
      break;
  }
});
// The parent went away (finished, or killed): stop too.
process.on('disconnect', () => {
  dropHeld();
  server.close();
  process.exit(0);
});

server.listen(0, '127.0.0.1', () => process.send({ cmd: 'listening', port: server.address().port }));

// A TCP proxy on 127.0.0.1 that can hold back what the target sends: a replica that follows its primary through it
// stops receiving the replication stream while held, so the primary acknowledges writes the replica never gets.
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** From now on, bytes from the target are kept back (the client still sends to the target). */
  hold(): void;
  /** Bytes from the target kept back so far, over every connection. */
  held(): number;
  /** Closes the listener and every connection; bytes held are dropped. */
  close(): Promise<void>;
}

/** Proxies each connection to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let holding = false;
  let heldBytes = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    track(client);
    const target = createConnection({ host: '127.0.0.1', port: targetPort });
    track(target);
    client.on('data', (chunk) => target.write(chunk));
    target.on('data', (chunk) => {
      if (holding) heldBytes += chunk.length;
      else client.write(chunk);
    });
    // Either side gone: the other goes too, as a broken link would.
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    hold() {
      holding = true;
    },
    held: () => heldBytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Forwards requests to moto one at a time. moto's threaded server applies conditional writes and ADDs
 * without item locks, so concurrent requests can both pass one condition; DynamoDB cannot. Serialising
 * the wire keeps the Lambdas' own interleaving (read, decide, conditional write) while each request is
 * atomic, as in DynamoDB.
 */
export interface SerialProxy {
  url: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startSerialProxy(target: string): Promise<SerialProxy> {
  const upstream = new URL(target);
  let queue: Promise<void> = Promise.resolve();
  const server: Server = createServer((req, res) => {
    queue = queue.then(async () => {
      const payload = await body(req);
      await new Promise<void>((done) => {
        const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', done);
        });
        forward.on('error', (error) => {
          res.writeHead(502).end(String(error));
          done();
        });
        forward.end(payload);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

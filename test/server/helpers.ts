// A tiny random-weight model behind a server on a free loopback port, stopped when the test file ends.
import { join } from 'node:path';
import { after } from 'node:test';
import { GgmlType } from '../../src/gguf/types.js';
import { Model } from '../../src/model/model.js';
import { KvsieveServer, type RequestLogEntry, type ServerOptions } from '../../src/server/server.js';
import { writeTinyModel as writeTinyModelFile } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

/** Writes the test model: 2 layers, 2 KV heads, byte-level synthetic vocabulary of 300 tokens. */
export function writeTinyModel(dir: string, contextLength = 256): string {
  const path = join(dir, 'tiny.gguf');
  return writeTinyModelFile(path, { contextLength, type: GgmlType.Q8_0, seed: 3 });
}

export interface TestServer {
  url: string;
  server: KvsieveServer;
  model: Model;
  logs: RequestLogEntry[];
}

export async function startServer(
  opts: Omit<ServerOptions, 'model'> & { contextLength?: number } = {},
): Promise<TestServer> {
  const { contextLength, ...rest } = opts;
  const model = await Model.load(writeTinyModel(tempDir('kvsieve-server-'), contextLength), { threads: 1 });
  const logs: RequestLogEntry[] = [];
  const server = new KvsieveServer({ model, modelId: 'tiny', ...rest, log: (e) => logs.push(e) });
  const { port } = await server.listen(0);
  after(async () => {
    await server.shutdown(0);
    await model.close();
  });
  return { url: `http://127.0.0.1:${port}`, server, model, logs };
}

/** Polls `cond` every 10 ms for up to `ms` (tests stay bounded in time). */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

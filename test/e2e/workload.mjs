// A small service for the end-to-end test: serves HTTP, writes and reads its own data
// files, calls a loopback peer, and calls an "external" API by name (looked up at a given
// resolver each time), over and over — the benign behaviour Tripline learns.
import { Resolver } from 'node:dns/promises';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [dataDir, port, peerPort, resolverAddress, apiName, apiPort] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 500, tries: 1 });
resolver.setServers([resolverAddress]);
mkdirSync(dataDir, { recursive: true });
const server = createServer((_req, res) => res.end('ok')).listen(Number(port), '127.0.0.1');
let n = 0;
setInterval(() => {
  const file = `${dataDir}/state-${n++ % 3}.log`;
  writeFileSync(file, `tick ${n}\n`);
  readFileSync(file);
  request({ host: '127.0.0.1', port: Number(port), path: '/' }, (res) => res.resume()).end();
  const s = connect(Number(peerPort), '127.0.0.1', () => s.end());
  s.on('error', () => {});
  resolver.resolve4(apiName).then(
    ([ip]) => {
      const a = connect(Number(apiPort), ip, () => a.end());
      a.on('error', () => {});
    },
    () => {},
  );
}, 100);
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});

// Generates proto/gen/tripline.js (static protobufjs code) and its .d.ts from
// proto/tripline/v1/*.proto. Generated files are never edited by hand.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto');
const outDir = join(protoDir, 'gen');
const sources = readdirSync(join(protoDir, 'tripline/v1'))
  .filter((f) => f.endsWith('.proto'))
  .sort()
  .map((f) => join(protoDir, 'tripline/v1', f));
const bin = (name) => join(root, 'node_modules', '.bin', name);

mkdirSync(outDir, { recursive: true });
const js = join(outDir, 'tripline.js');
execFileSync(
  bin('pbjs'),
  [
    '-t',
    'static-module',
    '-w',
    'es6',
    '--force-number',
    '--no-verify',
    '--no-delimited',
    '--no-beautify',
    '-p',
    protoDir,
    '-o',
    js,
    ...sources,
  ],
  { stdio: 'inherit', cwd: protoDir },
);
// protobufjs is CommonJS: Node's ES module loader exposes it as the default export only,
// and needs the file extension on a deep import.
writeFileSync(
  js,
  readFileSync(js, 'utf8').replace(
    'import * as $protobuf from "protobufjs/minimal";',
    'import $protobuf from "protobufjs/minimal.js";',
  ),
);
execFileSync(bin('pbts'), ['-o', join(outDir, 'tripline.d.ts'), js], { stdio: 'inherit' });

// tsc compiles only .ts: put the generated protobuf JavaScript beside the compiled code.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist/proto/gen'), { recursive: true });
copyFileSync(join(root, 'proto/gen/tripline.js'), join(root, 'dist/proto/gen/tripline.js'));

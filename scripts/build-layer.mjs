// `npm run build:layer`: the Lambda layer of the runtime collector (lambda-layer/README.md).
//
//   dist/layer/extensions/trailhound                 launcher (Lambda starts it at init)
//   dist/layer/trailhound-extension/index.mjs        the extension, one esbuild bundle
//   dist/layer/trailhound/bin/trailhound-wrapper     AWS_LAMBDA_EXEC_WRAPPER
//   dist/layer/trailhound/lib/libtrailhound.so       the native collector, when it builds
//   dist/trailhound-layer.zip                        the same tree, unix modes kept
//
// The zip is written here (deflate from node:zlib): no dependency, no `zip` command needed.
//
// Options (the CDK app's RuntimeCollectorLayer uses both):
//   --arch x86_64|arm64   the layer's architecture (else TRAILHOUND_ARCH, else this machine's)
//   --out DIR             write the layer tree to DIR (empty or missing) instead of dist/layer,
//                         and no zip: the caller packages the folder
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
/** The value after `--name` on the command line, if given. */
const option = (name) => {
  const at = process.argv.indexOf(name);
  if (at === -1) return undefined;
  const value = process.argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`build:layer: ${name} needs a value`);
  return value;
};
const outOption = option('--out');
const out = outOption ? resolve(outOption) : join(root, 'dist/layer');
const zipPath = outOption ? undefined : join(root, 'dist/trailhound-layer.zip');
const native = join(root, 'native-collector');
const quiet = process.argv.includes('--quiet');
const say = (line) => quiet || console.log(`build:layer: ${line}`);

// The layer's architecture (the function's): --arch or TRAILHOUND_ARCH=x86_64|arm64, else this machine's.
const arch =
  option('--arch') ?? process.env.TRAILHOUND_ARCH ?? (process.arch === 'arm64' ? 'arm64' : 'x86_64');
if (arch !== 'x86_64' && arch !== 'arm64')
  throw new Error(`build:layer: architecture ${arch} is neither x86_64 nor arm64`);

if (!outOption) rmSync(out, { recursive: true, force: true });
else if (existsSync(out) && readdirSync(out).length > 0)
  throw new Error(
    `build:layer: --out ${out} is not empty (it is never cleared: give an empty or new folder)`,
  );
mkdirSync(join(out, 'extensions'), { recursive: true });
mkdirSync(join(out, 'trailhound/bin'), { recursive: true });

await build({
  entryPoints: [join(root, 'lambda-layer/src/index.ts')],
  outfile: join(out, 'trailhound-extension/index.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  // Some bundled CommonJS (the AWS SDK) calls require(); give the ES module one.
  banner: {
    js: "import { createRequire as __thCreateRequire } from 'node:module'; const require = __thCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

copyFileSync(join(root, 'lambda-layer/extensions/trailhound'), join(out, 'extensions/trailhound'));
chmodSync(join(out, 'extensions/trailhound'), 0o755);

const nativeWrapper = join(native, 'trailhound-wrapper');
const wrapper = existsSync(nativeWrapper)
  ? nativeWrapper
  : join(root, 'lambda-layer/wrapper/trailhound-wrapper');
if (wrapper !== nativeWrapper)
  say('native-collector/trailhound-wrapper not found; using lambda-layer/wrapper/trailhound-wrapper');
copyFileSync(wrapper, join(out, 'trailhound/bin/trailhound-wrapper'));
chmodSync(join(out, 'trailhound/bin/trailhound-wrapper'), 0o755);

const libraryTarget = `build/${arch}/libtrailhound.so`;
const findNativeLibrary = () =>
  existsSync(join(native, libraryTarget)) ? join(native, libraryTarget) : undefined;

let library = findNativeLibrary();
if (!library && existsSync(join(native, 'Makefile'))) {
  const make = spawnSync('make', ['-C', native, `ARCH=${arch}`, libraryTarget], { encoding: 'utf8' });
  if (make.status === 0) library = findNativeLibrary();
  else
    say(`make -C native-collector failed (${make.error?.message ?? make.stderr.trim().split('\n').at(-1)})`);
}
if (library) {
  mkdirSync(join(out, 'trailhound/lib'), { recursive: true });
  copyFileSync(library, join(out, 'trailhound/lib/libtrailhound.so'));
  say(`native collector: ${relative(root, library)}`);
} else {
  say(
    'libtrailhound.so not found: the layer is built WITHOUT the native collector (the extension still runs: telemetry, /proc backstop)',
  );
}

if (process.env.TRAILHOUND_NODE_BINARY) {
  copyFileSync(process.env.TRAILHOUND_NODE_BINARY, join(out, 'trailhound/bin/node'));
  chmodSync(join(out, 'trailhound/bin/node'), 0o755);
  say(`node binary: ${process.env.TRAILHOUND_NODE_BINARY}`);
}

if (!zipPath) {
  say(`layer tree (${arch}): ${out}`);
  process.exit(0);
}

// ---- a minimal zip writer (stored directory entries, deflated files, unix modes) ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? [path, ...walk(path)] : [path];
    });
}
const locals = [];
const centrals = [];
let offset = 0;
// A fixed timestamp (1980-01-01) keeps the zip reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
for (const path of walk(out)) {
  const stat = statSync(path);
  const isDir = stat.isDirectory();
  const name = Buffer.from(relative(out, path) + (isDir ? '/' : ''), 'utf8');
  const data = isDir ? Buffer.alloc(0) : readFileSync(path);
  const packed = isDir ? data : deflateRawSync(data, { level: 9 });
  const method = isDir ? 0 : 8;
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(method, 8);
  local.writeUInt16LE(DOS_TIME, 10);
  local.writeUInt16LE(DOS_DATE, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by unix: external attributes hold the mode
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(method, 10);
  central.writeUInt16LE(DOS_TIME, 12);
  central.writeUInt16LE(DOS_DATE, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const unixMode = (isDir ? 0o040000 : 0o100000) | (stat.mode & 0o777);
  central.writeUInt32LE(((unixMode << 16) | (isDir ? 0x10 : 0)) >>> 0, 38);
  central.writeUInt32LE(offset, 42);
  locals.push(local, name, packed);
  centrals.push(central, name);
  offset += local.length + name.length + packed.length;
}
const centralSize = centrals.reduce((n, b) => n + b.length, 0);
const end = Buffer.alloc(22);
end.writeUInt32LE(0x06054b50, 0);
end.writeUInt16LE(centrals.length / 2, 8);
end.writeUInt16LE(centrals.length / 2, 10);
end.writeUInt32LE(centralSize, 12);
end.writeUInt32LE(offset, 16);
writeFileSync(zipPath, Buffer.concat([...locals, ...centrals, end]));
say(`${relative(root, zipPath)} (${(statSync(zipPath).size / 1024).toFixed(0)} KiB)`);

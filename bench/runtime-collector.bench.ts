/**
 * `npm run bench`, part three: what the runtime collector layer adds to each
 * invoke. The aim: under 1 ms added latency per invoke at p50 (billed
 * duration), with the default `TRAILHOUND_FLUSH=deferred`.
 *
 * The same Node handler (spawns /bin/sh, reads /proc/self/environ) runs in
 * three emulated Lambda environments at once: without the layer, with it in
 * `deferred` mode, with it in `per-invoke` mode (extension + LD_PRELOAD
 * collector). Invokes go round-robin over the three, so load from elsewhere
 * on the machine falls on all of them alike. Reported per invoke:
 * - response: invoke → the runtime's answer (what a caller waits for);
 * - duration: invoke → every extension asked for its next event (billed, and
 *   when the environment can take the next invoke);
 * and, from the extension itself (`TRAILHOUND_STATS=1`), its work between
 * receiving INVOKE and calling `event/next` again, and its deferred slices.
 * Run `npm run build:layer` first (npm run bench does).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type InvokeResult, LambdaRuntimeEmulator } from '../test/helpers/lambda-runtime-emulator.js';

const INVOKES = Number(process.env.BENCH_INVOKES ?? 200);
const AIM_MS = 1;
const root = join(import.meta.dirname, '..');
const layer = join(root, 'dist/layer');
const fixtures = join(root, 'test/fixtures/lambda-runtime');
const library = join(layer, 'trailhound/lib/libtrailhound.so');
const payload = { actions: ['spawn-sh', 'environ'] };

type Setup = 'without' | 'deferred' | 'per-invoke';
const SETUPS: readonly Setup[] = ['without', 'deferred', 'per-invoke'];

function start(setup: Setup): Promise<LambdaRuntimeEmulator> {
  const withLayer = setup !== 'without';
  return LambdaRuntimeEmulator.start({
    extensions: withLayer ? [{ command: [join(layer, 'extensions/trailhound')] }] : [],
    runtime: { command: [process.execPath, join(fixtures, 'node-runtime.mjs')] },
    ...(withLayer ? { execWrapper: join(layer, 'trailhound/bin/trailhound-wrapper') } : {}),
    env: {
      LAMBDA_TASK_ROOT: fixtures,
      TRAILHOUND_RING: join('/tmp', `.trailhound-bench-${process.pid}-${setup}`, 'ring'),
      TRAILHOUND_LIB: library,
      TRAILHOUND_NODE: process.execPath,
      TRAILHOUND_TELEMETRY_LISTEN: '127.0.0.1',
      TRAILHOUND_TELEMETRY_HOST: '127.0.0.1',
      TRAILHOUND_TELEMETRY_PORT: '0',
      TRAILHOUND_STATS: '1',
      // The /proc backstop scans the whole host's /proc here (a Lambda sandbox holds a handful of
      // processes), which costs tens of ms a scan: off unless BENCH_BACKSTOP_MS is set.
      TRAILHOUND_BACKSTOP_MS: process.env.BENCH_BACKSTOP_MS ?? '0',
      ...(setup === 'without' ? {} : { TRAILHOUND_FLUSH: setup }),
    },
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

if (!existsSync(join(layer, 'extensions/trailhound'))) throw new Error('run npm run build:layer first');
const emulators = new Map<Setup, LambdaRuntimeEmulator>();
for (const setup of SETUPS) emulators.set(setup, await start(setup));
const results = new Map<Setup, InvokeResult[]>(SETUPS.map((s) => [s, []]));
for (let i = 0; i < 20 + INVOKES; i++) {
  for (const setup of SETUPS) {
    const result = await (emulators.get(setup) as LambdaRuntimeEmulator).invoke(payload);
    if (i >= 20) results.get(setup)?.push(result); // 20 warm-up invokes each
  }
}
const stats = new Map<Setup, string>();
for (const [setup, emulator] of emulators) {
  await emulator.shutdown();
  const line = emulator.extensionStderr.find((l) => l.startsWith('{"trailhound_stats"'));
  if (line) {
    const s = JSON.parse(line).trailhound_stats;
    const fmt = (t: { p50: number; p99: number; max: number }) =>
      `p50 ${t.p50.toFixed(3)} p99 ${t.p99.toFixed(3)} max ${t.max.toFixed(3)} ms`;
    stats.set(
      setup,
      s.flush === 'deferred'
        ? `INVOKE → event/next ${fmt(s.preNextMs)}\n      slices after next: wall ${fmt(s.sliceMs)}; CPU ${fmt(s.sliceCpuMs)}`
        : `INVOKE → event/next: waits for platform.runtimeDone (see duration)`,
    );
  }
}

console.log(
  `runtime collector, ${INVOKES} invokes per setup, round-robin${existsSync(library) ? '' : ' (NO libtrailhound.so: extension only)'}`,
);
console.log(`backstop: TRAILHOUND_BACKSTOP_MS=${process.env.BENCH_BACKSTOP_MS ?? '0'}`);
console.log(`aim: < ${AIM_MS} ms added latency per invoke at p50 (billed duration, default deferred flush)`);
const base = results.get('without') as InvokeResult[];
for (const setup of ['deferred', 'per-invoke'] as const) {
  const layered = results.get(setup) as InvokeResult[];
  console.log(`  TRAILHOUND_FLUSH=${setup}:`);
  for (const metric of ['responseMs', 'durationMs'] as const) {
    const a = base.map((r) => r[metric]);
    const b = layered.map((r) => r[metric]);
    const line = [50, 99]
      .map((p) => {
        const without = percentile(a, p);
        const withLayer = percentile(b, p);
        return `p${p} ${without.toFixed(2)} → ${withLayer.toFixed(2)} ms (×${(withLayer / without).toFixed(2)}, +${(withLayer - without).toFixed(2)} ms)`;
      })
      .join('   ');
    console.log(`    ${metric === 'responseMs' ? 'response' : 'duration'}: ${line}`);
  }
  const added =
    percentile(
      layered.map((r) => r.durationMs),
      50,
    ) -
    percentile(
      base.map((r) => r.durationMs),
      50,
    );
  console.log(
    `    added at p50: ${added.toFixed(2)} ms — ${added < AIM_MS ? 'within' : 'OVER'} the < ${AIM_MS} ms aim`,
  );
  if (stats.has(setup)) console.log(`    extension: ${stats.get(setup)}`);
}

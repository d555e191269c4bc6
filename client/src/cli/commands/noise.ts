/**
 * `noise learn|show`: a function's noise profile — what differs between two runs of the same model
 * (see the README's noise profiles). `learn` starts the learning batch and, unless `--no-wait`,
 * follows it until the profile is stored (exit 1 when the batch does not succeed).
 */
import type { NoiseProfile, NoiseProfileRequest } from '../../schemas.js';
import { asUsage, durationHoursFlag, EXIT, functionNameValue, intFlag, str, type CommandContext, type CommandGroup } from '../framework.js';
import { columns, keyValues } from '../table.js';

function profileTable(p: NoiseProfile): string {
  return (
    keyValues([
      ['functionName', p.functionName],
      ['version', p.version],
      ['executor', p.executor],
      ['modelVersions', p.modelVersions.join(', ')],
      ['pairs', `${p.pairs} of ${p.sampleSize} sampled`],
      ['numericSafetyFactor', p.numericSafetyFactor],
      ['batchId', p.batchId],
      ['createdAt', p.createdAt],
    ]) +
    '\n' +
    columns(['path', 'class', 'differed', 'spread %', 'spread ±', 'text floor'], p.fields.map((f) => [f.path, f.class, `${f.differed}/${f.pairs}${f.presenceDiffered ? ` (${f.presenceDiffered} in one run only)` : ''}`, f.spreadPercent ?? '', f.spreadAbsolute ?? '', f.similarityFloor ?? '']))
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The profile that learning batch `batchId` stored. It is the latest unless learning batches of the
 * same function that finished after it stored newer versions meanwhile: then it is one of the
 * versions below, found by walking down from the latest (concurrent learnings are few).
 */
async function profileStoredBy(client: CommandContext['client'], functionName: string, batchId: string): Promise<NoiseProfile> {
  let profile = await client.getNoiseProfile(functionName);
  while (profile.batchId !== batchId) {
    if (profile.version <= 1) throw new Error(`learning batch ${batchId} succeeded, but no version of the noise profile of '${functionName}' is the one it stored`);
    profile = await client.getNoiseProfile(functionName, { version: profile.version - 1 });
  }
  return profile;
}

export const noiseCommands: CommandGroup = {
  name: 'noise',
  summary: "Learn and read a function's noise profile (for noise-aware Tolerant replays).",
  commands: [
    {
      name: ['noise', 'learn'],
      summary: 'learn the next noise profile: each sampled snapshot is executed twice on the current executor',
      args: '<functionName>',
      positionals: { min: 1, max: 1 },
      options: {
        'sample-size': { type: 'string', value: 'N', description: 'snapshots to sample, newest first, 2..1000 (default 50)' },
        last: { type: 'string', value: 'DURATION', description: 'sample only snapshots of the last 90m, 24h, 7d, 2w, …' },
        'no-wait': { type: 'boolean', description: 'print the learning batch and return at once' },
        'poll-interval': { type: 'string', value: 'MS', description: 'how often to read progress (default 500)' },
      },
      async run(ctx, { positionals, values }) {
        const functionName = functionNameValue('<functionName>', positionals[0] as string);
        const sampleSize = intFlag('sample-size', str(values, 'sample-size'), 2, 1000);
        const lastHours = durationHoursFlag('last', str(values, 'last'));
        const pollMs = intFlag('poll-interval', str(values, 'poll-interval'), 10, 60_000) ?? 500;
        const request: NoiseProfileRequest = { ...(sampleSize !== undefined && { sampleSize }), ...(lastHours !== undefined && { selector: { lastHours } }) };
        const started = await asUsage(() => ctx.client.learnNoiseProfile(functionName, request));
        if (values['no-wait'] === true) {
          ctx.out.result(started, (s) => keyValues(Object.entries(s)), started.batchId);
          return EXIT.OK;
        }
        let batch = await ctx.client.getBatch(started.batchId);
        while (batch.status === 'RUNNING') {
          await sleep(pollMs);
          batch = await ctx.client.getBatch(started.batchId);
        }
        if (batch.status !== 'SUCCEEDED') {
          ctx.out.result(batch, (b) => keyValues([['batchId', b.batchId], ['status', b.status], ['failureReason', b.failureReason ?? '']]), batch.batchId);
          return EXIT.GATED;
        }
        const profile = await profileStoredBy(ctx.client, functionName, started.batchId);
        ctx.out.result(profile, profileTable, String(profile.version));
        return EXIT.OK;
      },
    },
    {
      name: ['noise', 'show'],
      summary: "show a function's latest noise profile (or --version N)",
      args: '<functionName>',
      positionals: { min: 1, max: 1 },
      options: { version: { type: 'string', value: 'N', description: 'a specific version' } },
      async run(ctx, { positionals, values }) {
        const version = intFlag('version', str(values, 'version'), 1, 1_000_000_000);
        const profile = await ctx.client.getNoiseProfile(functionNameValue('<functionName>', positionals[0] as string), version === undefined ? {} : { version });
        ctx.out.result(profile, profileTable, String(profile.version));
      },
    },
  ],
};

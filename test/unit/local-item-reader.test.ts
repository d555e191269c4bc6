/**
 * The local runner's one pre-step (DESIGN §9: aws-local-stepfunctions ignores ItemReader and
 * ItemBatcher): the definition it runs differs from the one CDK synthesizes ONLY in the inserted
 * reader state, the Map's ItemReader/ItemBatcher → ItemsPath, and the transition into the Map.
 */
import { describe, expect, it } from 'vitest';
import { PLAN_STATE, REPLAY_MAP_STATE, renderBatchAsl } from '../../lib/batch-definition.js';
import { LOCAL_ITEM_READER_RESOURCE, LOCAL_ITEMS_PATH, LocalStateMachine, localReaderStateName, withLocalItemReaders, type LocalObjectReader } from '../../functions/local/step-functions.js';

type Json = Record<string, unknown>;
const asRecord = (v: unknown): Json => v as Json;

describe('withLocalItemReaders', () => {
  const { definition } = renderBatchAsl();
  const local = withLocalItemReaders(definition);
  const synthStates = asRecord(asRecord(definition).States);
  const localStates = asRecord(asRecord(local.definition).States);
  const reader = localReaderStateName(REPLAY_MAP_STATE);

  it('inserts exactly one reader state, before the Map, catching like the Map', () => {
    expect(local.readerStates).toEqual([reader]);
    expect(Object.keys(localStates).sort()).toEqual([...Object.keys(synthStates), reader].sort());
    const mapState = asRecord(synthStates[REPLAY_MAP_STATE]);
    const itemReader = asRecord(mapState.ItemReader);
    const batcher = asRecord(mapState.ItemBatcher);
    expect(localStates[reader]).toEqual({
      Type: 'Task',
      Resource: LOCAL_ITEM_READER_RESOURCE,
      Parameters: { reader: itemReader.Parameters, readerConfig: itemReader.ReaderConfig, resource: itemReader.Resource, 'maxItemsPerBatch.$': batcher.MaxItemsPerBatchPath, batchInput: batcher.BatchInput },
      ResultPath: LOCAL_ITEMS_PATH,
      Next: REPLAY_MAP_STATE,
      Catch: mapState.Catch,
    });
  });

  it('differs from the synthesized definition only there: undoing the three changes gives it back exactly', () => {
    const undone = structuredClone(local.definition) as Json;
    const states = asRecord(undone.States);
    delete states[reader];
    const mapState = asRecord(states[REPLAY_MAP_STATE]);
    const original = asRecord(synthStates[REPLAY_MAP_STATE]);
    expect(mapState.ItemsPath).toBe(LOCAL_ITEMS_PATH);
    delete mapState.ItemsPath;
    mapState.ItemReader = original.ItemReader;
    mapState.ItemBatcher = original.ItemBatcher;
    expect(asRecord(states[PLAN_STATE]).Next).toBe(reader);
    asRecord(states[PLAN_STATE]).Next = REPLAY_MAP_STATE;

    expect(undone).toEqual(definition);
  });

  it('leaves a definition without ItemReader unchanged', () => {
    const plain = { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } };
    expect(withLocalItemReaders(plain)).toEqual({ definition: plain, readerStates: [] });
  });
});

describe('the local ItemReader and ItemBatcher', () => {
  const objects = (text: string): LocalObjectReader => ({
    async *readLines(bucket, key) {
      expect([bucket, key]).toEqual(['b', 'k.csv']);
      await Promise.resolve();
      yield text.split('\n');
    },
  });
  const definition = {
    StartAt: 'Each',
    States: {
      Each: {
        Type: 'Map',
        ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }, Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' } },
        ItemBatcher: { MaxItemsPerBatchPath: '$.size', BatchInput: { 'tag.$': '$.tag' } },
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'Echo', States: { Echo: { Type: 'Pass', End: true } } },
        End: true,
      },
    },
  };
  const noHandlers = { plan: () => undefined, replay: () => undefined, stats: () => undefined };

  it('reads CSV rows under the first row\'s headers and hands each child {BatchInput, Items} of MaxItemsPerBatch', async () => {
    const machine = new LocalStateMachine({ definition, functionArns: { plan: 'p', replay: 'r', stats: 's' } }, noHandlers, { objects: objects('snapshotId\nA\nB\nC\nD\nE\n') });

    const outcome = await machine.start('x', { bucket: 'b', key: 'k.csv', size: 2, tag: 'T' }).done;

    expect(outcome).toEqual({
      status: 'SUCCEEDED',
      output: [
        { BatchInput: { tag: 'T' }, Items: [{ snapshotId: 'A' }, { snapshotId: 'B' }] },
        { BatchInput: { tag: 'T' }, Items: [{ snapshotId: 'C' }, { snapshotId: 'D' }] },
        { BatchInput: { tag: 'T' }, Items: [{ snapshotId: 'E' }] },
      ],
    });
  });

  it('refuses a definition that reads items when no object reader is given', () => {
    expect(() => new LocalStateMachine({ definition, functionArns: { plan: 'p', replay: 'r', stats: 's' } }, noHandlers)).toThrow(/options\.objects/);
  });
});

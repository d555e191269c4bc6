import { describe, expect, it } from 'vitest';
import { ExecutionAlreadyExistsError, LocalStateMachine, type BatchAsl, type BatchHandlers } from '../../functions/local/step-functions.js';

const ARNS = {
  plan: 'arn:aws:lambda:us-east-1:000000000000:function:plan',
  replay: 'arn:aws:lambda:us-east-1:000000000000:function:replay',
  stats: 'arn:aws:lambda:us-east-1:000000000000:function:stats',
};

/** A one-state machine: its Task is `plan`, which waits for `gate` when the input asks it to. */
function oneTaskMachine(options: { maxEndedExecutions?: number; retentionMs?: number; now?: () => number }) {
  const gates = new Map<string, () => void>();
  const handlers: BatchHandlers = {
    plan: (payload) => {
      const { id, hold } = payload as { id: string; hold?: boolean };
      if (!hold) return { id };
      return new Promise((resolve) => gates.set(id, () => resolve({ id })));
    },
    replay: () => null,
    stats: () => null,
  };
  const asl: BatchAsl = { definition: { StartAt: 'Plan', States: { Plan: { Type: 'Task', Resource: ARNS.plan, End: true } } }, functionArns: ARNS };
  return { machine: new LocalStateMachine(asl, handlers, options), release: (id: string) => gates.get(id)?.() };
}

describe('LocalStateMachine execution names', () => {
  it('forgets the oldest-ended executions beyond maxEndedExecutions, so memory stays bounded', async () => {
    const { machine } = oneTaskMachine({ maxEndedExecutions: 3 });

    for (let i = 0; i < 50; i++) await machine.start(`run-${i}`, { id: `run-${i}` }).done;

    expect(machine.size).toBe(3);
    expect(machine.get('run-46')).toBeUndefined();
    expect(['run-47', 'run-48', 'run-49'].map((n) => machine.get(n) !== undefined)).toEqual([true, true, true]);
  });

  it('keeps duplicate-name semantics within the bound and frees a forgotten name', async () => {
    const { machine } = oneTaskMachine({ maxEndedExecutions: 2 });
    const a = machine.start('a', { id: 'a' });
    await a.done;

    expect(machine.start('a', { id: 'a' })).toBe(a);
    expect(() => machine.start('a', { id: 'other' })).toThrow(ExecutionAlreadyExistsError);

    await machine.start('b', { id: 'b' }).done;
    await machine.start('c', { id: 'c' }).done;

    const again = machine.start('a', { id: 'other' });
    expect(again).not.toBe(a);
    await expect(again.done).resolves.toEqual({ status: 'SUCCEEDED', output: { id: 'other' } });
  });

  it('never forgets a running execution, whatever the bound', async () => {
    const { machine, release } = oneTaskMachine({ maxEndedExecutions: 0, retentionMs: 0 });
    const held = machine.start('held', { id: 'held', hold: true });
    for (let i = 0; i < 5; i++) await machine.start(`quick-${i}`, { id: `quick-${i}` }).done;

    expect(machine.get('held')).toBe(held);
    expect(() => machine.start('held', { id: 'other' })).toThrow(ExecutionAlreadyExistsError);
    expect(machine.size).toBe(1);

    release('held');
    await held.done;
    expect(machine.get('held')).toBeUndefined();
    expect(machine.size).toBe(0);
  });

  it('keeps an ended execution’s name for the retention period, then forgets it', async () => {
    let now = 1_000_000;
    const { machine } = oneTaskMachine({ retentionMs: 60_000, now: () => now });
    const first = machine.start('nightly', { id: 'n1' });
    await first.done;

    now += 59_999;
    expect(() => machine.start('nightly', { id: 'n2' })).toThrow(ExecutionAlreadyExistsError);
    expect(machine.get('nightly')).toBe(first);

    now += 2;
    const second = machine.start('nightly', { id: 'n2' });
    expect(second).not.toBe(first);
    await expect(second.done).resolves.toEqual({ status: 'SUCCEEDED', output: { id: 'n2' } });
  });
});

// Global secondary index entries written after the write is answered, as DynamoDB does. Plain
// JavaScript: the dynalite worker thread imports it too, and a worker does not go through the
// TypeScript loader.
//
// DynamoDB answers a PutItem, UpdateItem or DeleteItem once the table is written and updates the
// table's global secondary indexes asynchronously (they are eventually consistent; local secondary
// indexes are not, and are written with the item). dynalite writes every index entry inside the
// write, before it answers: for a snapshot that is four entries (GSI1, GSI1K, GSI2 and the audit
// index GSI3), each hashed, encoded and inserted into its tree, all on the write's path. So locally
// a global index cost every write its entry, where on AWS it costs none of the write's time.
//
// For the stores the local host creates (`indexesAfterAnswer: true` in dynalite's options), the
// global index entries of each write are queued, in write order, and written right after the
// write's answer has been handed back. A request that may read an index (Query, Scan, and every
// table-level action) first waits until the queue is empty, so the local host stays strongly
// consistent on its indexes, as it has always been: a Query sees every write answered before it.
// Item actions (Get, Put, Update, Delete, their batches and transactions) never read an index and
// do not wait. Other dynalite stores in the process (tests, benchmarks) are left as dynalite made them.
//
// A store on disk (a DATA_DIR) defers too, and survives a kill. An entry queued when the process is
// killed would never be written: the item would be stored and answered, and missing from its
// function's list and from the audit index after a restart. DynamoDB propagates an acknowledged
// write to its indexes durably; a queue in memory cannot. So while a store on disk defers, it
// carries a mark (one key outside dynalite's own, written once when the store opens and removed
// when it closes cleanly, after the queue is written). A store that opens with the mark still on
// it was not closed cleanly: before it serves anything, its global indexes are rebuilt from its
// items (every entry cleared and written again from the table), the recovery a database makes from
// its log. The mark costs no write its time; only a start after a crash pays, once, in proportion
// to the items stored. A store in memory loses everything with its process anyway, and has no mark.
import { createRequire } from 'node:module';
import { setImmediate } from 'node:timers';
import { stderr } from 'node:process';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
// The same module instance dynalite's actions require ('../db'), so they call the patched function.
const dynaliteDb = require('dynalite/db/index.js');

/** Actions that read or write items by key only: they never read an index, so they never wait for one. */
const ITEM_ACTIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems']);

/** The stores whose global index entries are written after the answer. */
const deferringStores = new WeakSet();
/** Global index work still to do, in the order of the writes it belongs to. */
const queue = [];
/** The queue being written (one entry after another), or undefined. */
let draining;

/** Marks a store dynalite created in memory for options with `indexesAfterAnswer: true`. */
export function deferIndexesOf(store) {
  deferringStores.add(store);
  return store;
}

/**
 * The root key that marks a store on disk whose global index entries may be behind its items.
 * dynalite's own keys start with `table~`, `item-`, `index-` or `tag-`, so no table, item or index
 * range reads it.
 */
export const INDEXES_MAY_LAG = 'decision-replay~global-indexes-may-lag';

/** The stores on disk that defer, so carry the mark. */
const markedStores = new WeakSet();

/**
 * For a store on disk, opened and not yet serving: rebuilds its global indexes if the mark is still
 * on it (the last process using it did not close it cleanly), marks it, and from then on defers its
 * global index entries. Resolves with what was rebuilt, or undefined after a clean stop.
 */
export async function deferIndexesDurably(store) {
  const db = store.db;
  const mark = await db.get(INDEXES_MAY_LAG);
  let recovered;
  if (mark !== undefined) {
    const started = performance.now();
    const items = await rebuildGlobalIndexes(store);
    recovered = { items, markedAt: typeof mark?.at === 'string' ? mark.at : undefined, ms: Math.round(performance.now() - started) };
  } else {
    await db.put(INDEXES_MAY_LAG, { at: new Date().toISOString() });
  }
  markedStores.add(store);
  deferringStores.add(store);
  return recovered;
}

/**
 * Before a store closes: its writes stop deferring, the queue is written, and a store on disk loses
 * its mark (its indexes are whole). Resolves once that is done; the caller then closes the store.
 */
export async function stopDeferring(store) {
  if (store === undefined) return settleIndexes();
  deferringStores.delete(store);
  await settleIndexes();
  if (markedStores.delete(store)) await store.db.del(INDEXES_MAY_LAG);
}

/** dynalite's keys for a table's items, or for one of its indexes: `prefix~key`; names never hold `~` or anything above it. */
const range = (prefix) => ({ gte: `${prefix}~`, lt: `${prefix}\x7f` });

/**
 * Writes every global index of every table again from the table's items: each index's entries are
 * cleared, then each item's entries are computed by dynalite's own function (the one its writes
 * use) and written in batches. Resolves with the number of items read.
 */
export async function rebuildGlobalIndexes(store) {
  const db = store.db;
  let items = 0;
  for await (const table of db.values(range('table'))) {
    const globals = table.GlobalSecondaryIndexes ?? [];
    if (globals.length === 0) continue;
    for (const index of globals) await db.clear(range(`index-global~${table.TableName}~${index.IndexName}`));
    let batch = [];
    for await (const item of db.values(range(`item-${table.TableName}`))) {
      items++;
      for (const put of dynaliteDb.getIndexActions(globals, null, item, table).puts) {
        batch.push({ type: 'put', key: `index-global~${table.TableName}~${put.index}~${put.key}`, value: put.item });
      }
      if (batch.length >= 1000) {
        await db.batch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await db.batch(batch);
  }
  return items;
}

/** Writes every queued global index entry, in order; resolves when the queue is empty. */
export function settleIndexes() {
  if (draining === undefined && queue.length > 0) {
    let finished;
    draining = new Promise((resolve) => (finished = resolve));
    // One entry after another. An entry with nothing to write calls back at once: the loop goes
    // on (no recursion, however many such entries are queued); one that writes continues from its
    // callback.
    const next = () => {
      for (;;) {
        const work = queue.shift();
        if (work === undefined) {
          draining = undefined;
          return finished();
        }
        let returned = false;
        let calledBack = false;
        work((err) => {
          // The write it belongs to was answered already. As on DynamoDB, an index that cannot be
          // written is not the writer's error; here it can only be a store that was closed under it.
          if (err) stderr.write(`dynalite: a global secondary index entry could not be written: ${err.message ?? err}\n`);
          calledBack = true;
          if (returned) next();
        });
        returned = true;
        if (!calledBack) return;
      }
    };
    next();
  }
  return draining ?? Promise.resolve();
}

/** Global index writes queued and not written yet (what a test can observe of the queue). */
export function indexWorkPending() {
  return queue.length + (draining === undefined ? 0 : 1);
}

/** True when a request for `target` (the `x-amz-target` header) must wait for the queue first. */
export function waitsForIndexes(target) {
  if (queue.length === 0 && draining === undefined) return false;
  const action = typeof target === 'string' ? target.slice(target.indexOf('.') + 1) : '';
  return !ITEM_ACTIONS.has(action);
}

/** After an answer has been handed back: the queued index work starts once the answer is on its way. */
export function answered() {
  if (queue.length > 0 && draining === undefined) setImmediate(settleIndexes);
}

/**
 * dynalite's request handler for the host's stores, for clients on its TCP port: a request that
 * may read an index waits for the queue (its body is not read meanwhile: an IncomingMessage
 * buffers until the handler reads it), and each answer sent starts the queued work.
 */
export function indexesAfterAnswerHandler(handle) {
  return (req, res) => {
    res.once('finish', answered);
    if (waitsForIndexes(req.headers['x-amz-target'])) settleIndexes().then(() => handle(req, res));
    else handle(req, res);
  };
}

if (dynaliteDb.updateIndexes.afterAnswer !== true) {
  const updateIndexes = dynaliteDb.updateIndexes;
  const patched = (store, table, existingItem, item, cb) => {
    const globals = table.GlobalSecondaryIndexes;
    if (!deferringStores.has(store) || globals === undefined || globals.length === 0) return updateIndexes(store, table, existingItem, item, cb);
    // Local secondary indexes with the item, as DynamoDB does; the global ones queued.
    updateIndexes(store, { ...table, GlobalSecondaryIndexes: undefined }, existingItem, item, (err) => {
      if (err) return cb(err);
      const onlyGlobal = { ...table, LocalSecondaryIndexes: undefined };
      queue.push((done) => updateIndexes(store, onlyGlobal, existingItem, item, done));
      cb();
    });
  };
  patched.afterAnswer = true;
  dynaliteDb.updateIndexes = patched;
}

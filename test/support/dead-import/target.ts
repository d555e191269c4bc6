/** The target of the fixture's dropped `import()` (./entry.ts). */
export const unreachable = 'a chunk nothing imports';

import { connectionWarning, connectionsPerProcess, readConnectionLimits } from '../../src/db/connection-budget.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('the start-up connection check', () => {
  test("reads the server's limit and what is in use", async () => {
    const limits = await readConnectionLimits(db.pool);
    const { rows } = await db.pool.query<{ max_connections: string }>('SHOW max_connections');
    expect(limits.maxConnections).toBe(Number(rows[0]?.max_connections));
    expect(limits.inUse).toBeGreaterThanOrEqual(1);
  });

  test('a process counts its pool and pg-boss pool', () => {
    expect(connectionsPerProcess(10)).toEqual({ app: 10, queue: 5, total: 15 });
    expect(connectionsPerProcess(2)).toEqual({ app: 2, queue: 2, total: 4 });
  });

  test('warns in one line naming DATABASE_POOL_MAX when the pools cannot fit beside the others; silent when they can', () => {
    // A 20-connection plan, 3 reserved, 14 held by the other processes.
    const tight = { maxConnections: 20, reserved: 3, inUse: 15 };
    const warning = connectionWarning(tight, 10, 1);
    expect(warning).toMatch(/may open 15 \(DATABASE_POOL_MAX=10 \+ 5 for pg-boss\), but only 3 of max_connections=20/);
    expect(warning).toContain('lower DATABASE_POOL_MAX');
    expect(warning).not.toContain('\n');
    expect(connectionWarning({ maxConnections: 100, reserved: 3, inUse: 20 }, 10, 0)).toBeUndefined();
  });
});

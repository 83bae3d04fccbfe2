/**
 * The ceiling for one-record JSON ingest: a bare Express endpoint that parses the body and does one
 * INSERT, nothing else (no signature, no validation, no queue). Run by bench/run.ts as a child.
 */
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: 10 });
const app = express();
app.post('/ingest', express.json({ limit: '5mb' }), async (req, res) => {
  await pool.query('INSERT INTO bench.single (data) VALUES ($1)', [JSON.stringify(req.body)]);
  res.status(202).json({ accepted: 1 });
});
const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on port ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));

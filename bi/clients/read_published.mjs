// Read everything a published warehouse holds, the way a JavaScript BI client does (Evidence,
// Observable-style dashboards: @duckdb/node-api), and print it as JSON in the form of
// read_published.py, so that the tests compare it with what the project's own DuckDB reads.
//
//     node read_published.mjs WAREHOUSE.duckdb > contents.json
import { DuckDBInstance, version } from '@duckdb/node-api';
import { writeSync } from 'node:fs';

const INTEGERS = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT']);

const RELATIONS = `
SELECT schema_name, table_name, 'table', comment FROM duckdb_tables()
 WHERE database_name = current_database() AND NOT internal
UNION ALL
SELECT schema_name, view_name, 'view', comment FROM duckdb_views()
 WHERE database_name = current_database() AND NOT internal
ORDER BY 1, 2`;
const COLUMNS = `
SELECT column_name, data_type, comment FROM duckdb_columns()
 WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2
ORDER BY column_index`;

function value(type, found) {
  if (found === null || found === undefined) return null;
  if (INTEGERS.has(type)) return found.toString();
  if (type === 'DOUBLE' || type === 'FLOAT') return Number.isFinite(found) ? found : String(found);
  if (type === 'BOOLEAN' || type === 'VARCHAR') return found;
  if (type === 'DATE') return found.toString();
  if (type.startsWith('TIMESTAMP')) return found.micros.toString();
  return found.toString();
}

const quoted = (name) => '"' + name.replaceAll('"', '""') + '"';

const instance = await DuckDBInstance.create(process.argv[2], { access_mode: 'READ_ONLY' });
const con = await instance.connect();
const relations = [];
for (const [schema, name, kind, comment] of (await con.runAndReadAll(RELATIONS)).getRows()) {
  const columns = (await con.runAndReadAll(COLUMNS, [schema, name])).getRows();
  const types = columns.map((c) => c[1]);
  const rows = (await con.runAndReadAll(`SELECT * FROM ${quoted(schema)}.${quoted(name)}`)).getRows();
  relations.push({
    schema, name, kind, comment,
    columns,
    rows: rows.map((row) => row.map((found, i) => value(types[i], found))),
  });
}
con.closeSync();
instance.closeSync();
// writeSync: a large result leaves in one piece before the process ends.
writeSync(1, JSON.stringify({ client: `node @duckdb/node-api (DuckDB ${version()})`, relations }));

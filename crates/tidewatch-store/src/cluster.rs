//! Cluster mode (`[clickhouse] cluster = "<name>"`): how the single-server schema and its few
//! server-side statements become a sharded, replicated schema.
//!
//! Guarantees:
//! * generic over table definitions: every `CREATE TABLE IF NOT EXISTS name (…) ENGINE = E(args)
//!   …` of [`crate::MIGRATIONS`] becomes `name_local`, a `Replicated{E}` table with ZooKeeper
//!   path `/clickhouse/tables/{shard}/<database>/<name>` (one path per shard, so replicas of a
//!   shard share it and shards never do), plus `name`, a `Distributed` table over it with the
//!   same columns. A table added later gets the same for free; nothing lists tables here;
//! * the sharding key keeps duplicates together: `cityHash64(source, source_id)` for every table
//!   that has the post key (so a redelivered post, its watch rows and its tombstone live on the
//!   shard that holds the post, and `FINAL` / `argMax` per shard are exact), else `cityHash64` of
//!   the whole sorting key (rows a replacing merge folds share it, so they share a shard);
//! * every other statement (queries, inserts, backfills) keeps its single-server text: it names
//!   the `Distributed` table, which reads every shard and merges. The store's client then sends
//!   `insert_distributed_sync=1` (an insert is acknowledged only once every shard it touches has
//!   it, the point after which a Kafka offset may be stored) and `distributed_product_mode =
//!   global` (an `IN (SELECT … FROM distributed)` inside a distributed query is computed once and
//!   shipped to every shard, so it is exact whatever the subquery's table is sharded by);
//! * statements that act on a server's own parts (`ALTER … DROP PARTITION`, `ALTER … DELETE`)
//!   are rewritten to the local table `ON CLUSTER`, so they reach every shard (one replica each
//!   runs them; replication carries them to the others);
//! * names spliced in (database, cluster) are plain identifiers, checked by
//!   [`crate::StoreConfig::validate`].

/// Settings the store's clients send in cluster mode; see the module docs for why.
pub(crate) const CLUSTER_CLIENT_SETTINGS: &[(&str, &str)] = &[
    ("insert_distributed_sync", "1"),
    ("distributed_product_mode", "global"),
];

const CREATE_TABLE_PREFIX: &str = "CREATE TABLE IF NOT EXISTS ";
const ALTER_TABLE_PREFIX: &str = "ALTER TABLE ";
/// The local (replicated) table behind a `Distributed` table is named with this suffix.
pub const LOCAL_TABLE_SUFFIX: &str = "_local";

/// A `CREATE TABLE IF NOT EXISTS` statement taken apart.
#[derive(Debug, PartialEq, Eq)]
struct TableDefinition<'a> {
    name: &'a str,
    /// The column list without its outer parentheses.
    columns: &'a str,
    engine: &'a str,
    /// The engine's arguments without parentheses (`""` when it has none).
    engine_arguments: &'a str,
    /// Everything after the engine: `PARTITION BY …`, `ORDER BY …`.
    clauses: &'a str,
}

/// The statements that make `statement` in cluster `cluster`: two for a table definition (the
/// replicated local table, then the distributed one), the statement itself for anything else.
pub fn cluster_migration_statements(statement: &str, database: &str, cluster: &str) -> Vec<String> {
    let Some(table) = parse_table_definition(statement) else {
        return vec![statement.to_string()];
    };
    let engine_arguments = if table.engine_arguments.is_empty() {
        String::new()
    } else {
        format!(", {}", table.engine_arguments)
    };
    let local = format!(
        "CREATE TABLE IF NOT EXISTS {database}.{name}{LOCAL_TABLE_SUFFIX} ON CLUSTER {cluster} (\
         {columns})\nENGINE = Replicated{engine}('/clickhouse/tables/{{shard}}/{database}/{name}', \
         '{{replica}}'{engine_arguments})\n{clauses}",
        name = table.name,
        columns = table.columns,
        engine = table.engine,
        clauses = table.clauses,
    );
    let distributed = format!(
        "CREATE TABLE IF NOT EXISTS {database}.{name} ON CLUSTER {cluster} ({columns})\n\
         ENGINE = Distributed({cluster}, {database}, {name}{LOCAL_TABLE_SUFFIX}, {key})",
        name = table.name,
        columns = table.columns,
        key = sharding_key(&table),
    );
    vec![local, distributed]
}

/// `ALTER TABLE name …` on the local tables of every shard; other statements unchanged.
pub(crate) fn cluster_alter_statement(statement: &str, database: &str, cluster: &str) -> String {
    let trimmed = statement.trim_start();
    let Some(after_prefix) = trimmed.strip_prefix(ALTER_TABLE_PREFIX) else {
        return statement.to_string();
    };
    let name_end = after_prefix
        .find(char::is_whitespace)
        .unwrap_or(after_prefix.len());
    let (name, rest) = after_prefix.split_at(name_end);
    format!("ALTER TABLE {database}.{name}{LOCAL_TABLE_SUFFIX} ON CLUSTER {cluster}{rest}")
}

/// `CREATE DATABASE` / `DROP DATABASE` with the database bound as `?`, on every host.
pub(crate) fn on_cluster(statement: &str, cluster: &str) -> String {
    format!("{statement} ON CLUSTER {cluster}")
}

fn sharding_key(table: &TableDefinition<'_>) -> String {
    let columns = column_names(table.columns);
    if columns.contains(&"source") && columns.contains(&"source_id") {
        return "cityHash64(source, source_id)".to_string();
    }
    let sorting_key = table
        .clauses
        .lines()
        .find_map(|line| line.trim().strip_prefix("ORDER BY "))
        .unwrap_or("tuple()")
        .trim();
    let bare = sorting_key
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(sorting_key);
    format!("cityHash64({bare})")
}

/// The column names of a column list (the first word of each top-level item).
fn column_names(columns: &str) -> Vec<&str> {
    split_top_level(columns, ',')
        .into_iter()
        .filter_map(|item| item.split_whitespace().next())
        .collect()
}

/// Splits at `separator` where no parenthesis is open.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if character == separator && depth == 0 => {
                parts.push(&text[start..index]);
                start = index + character.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The index just past the parenthesis that closes the one at `open` (which must be `(`).
fn closing_parenthesis(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, character) in text[open..].char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + index + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_table_definition(statement: &str) -> Option<TableDefinition<'_>> {
    let after_prefix = statement.trim_start().strip_prefix(CREATE_TABLE_PREFIX)?;
    let open = after_prefix.find('(')?;
    let name = after_prefix[..open].trim();
    let close = closing_parenthesis(after_prefix, open)?;
    let columns = &after_prefix[open + 1..close - 1];
    let after_columns = after_prefix[close..].trim_start();
    let engine_and_rest = after_columns.strip_prefix("ENGINE = ")?;
    let engine_end = engine_and_rest
        .find(|character: char| !character.is_ascii_alphanumeric())
        .unwrap_or(engine_and_rest.len());
    let engine = &engine_and_rest[..engine_end];
    let mut rest = &engine_and_rest[engine_end..];
    let mut engine_arguments = "";
    if rest.starts_with('(') {
        let arguments_end = closing_parenthesis(rest, 0)?;
        engine_arguments = &rest[1..arguments_end - 1];
        rest = &rest[arguments_end..];
    }
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    (valid_name && engine.ends_with("MergeTree")).then_some(TableDefinition {
        name,
        columns,
        engine,
        engine_arguments: engine_arguments.trim(),
        clauses: rest.trim(),
    })
}

#[cfg(test)]
mod tests;

impl crate::PostStore {
    /// A statement that acts on a server's own parts (`ALTER TABLE …`), as this store must send
    /// it: unchanged on one server, on every shard's local table in cluster mode.
    pub(crate) fn per_shard_statement<'a>(&self, statement: &'a str) -> std::borrow::Cow<'a, str> {
        match self.cluster() {
            Some(cluster) => cluster_alter_statement(statement, self.database(), cluster).into(),
            None => statement.into(),
        }
    }
}

use super::*;
use crate::schema::{CREATE_SCHEMA_MIGRATIONS, MIGRATIONS};

fn every_schema_statement() -> impl Iterator<Item = &'static str> {
    MIGRATIONS
        .iter()
        .flat_map(|migration| migration.statements.iter().copied())
        .chain(std::iter::once(CREATE_SCHEMA_MIGRATIONS))
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_table_becomes_a_replicated_local_table_and_a_distributed_table() {
    for statement in every_schema_statement() {
        let made = cluster_migration_statements(statement, "tw", "twc");
        if !statement.trim_start().starts_with(CREATE_TABLE_PREFIX) {
            assert_eq!(made, vec![statement.to_string()]);
            continue;
        }
        let table = parse_table_definition(statement).expect(statement);
        assert_eq!(made.len(), 2, "{statement}");
        let local = normalized(&made[0]);
        let distributed = normalized(&made[1]);
        let name = table.name;
        assert!(
            local.starts_with(&format!(
                "CREATE TABLE IF NOT EXISTS tw.{name}_local ON CLUSTER twc ("
            )),
            "{local}"
        );
        assert!(
            local.contains(&format!(
                "ENGINE = Replicated{}('/clickhouse/tables/{{shard}}/tw/{name}', '{{replica}}'",
                table.engine
            )),
            "{local}"
        );
        assert!(local.ends_with(&normalized(table.clauses)), "{local}");
        assert!(
            distributed.starts_with(&format!(
                "CREATE TABLE IF NOT EXISTS tw.{name} ON CLUSTER twc ("
            )),
            "{distributed}"
        );
        assert!(
            distributed.contains(&format!(
                "ENGINE = Distributed(twc, tw, {name}_local, cityHash64("
            )),
            "{distributed}"
        );
        // Same columns in both, exactly as in the single-server definition.
        assert!(local.contains(&normalized(table.columns)));
        assert!(distributed.contains(&normalized(table.columns)));
    }
}

#[test]
fn posts_and_their_satellites_are_sharded_by_the_post_key() {
    for statement in every_schema_statement() {
        let Some(table) = parse_table_definition(statement) else {
            continue;
        };
        let key = sharding_key(&table);
        let has_post_key = column_names(table.columns).contains(&"source_id");
        if has_post_key {
            assert_eq!(key, "cityHash64(source, source_id)", "{}", table.name);
        } else {
            assert!(!key.contains("source_id"), "{key}");
        }
    }
}

#[test]
fn engine_arguments_follow_the_replication_arguments() {
    let posts = MIGRATIONS[0].statements[0];
    let made = cluster_migration_statements(posts, "tw", "twc");
    assert!(
        made[0].contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tw/posts', '{replica}', version)"
        ),
        "{}",
        made[0]
    );
    let migrations = cluster_migration_statements(CREATE_SCHEMA_MIGRATIONS, "tw", "twc");
    assert!(
        made[1].contains("cityHash64(source, source_id)"),
        "{}",
        made[1]
    );
    assert!(
        migrations[0].contains(
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tw/schema_migrations', '{replica}')"
        ),
        "{}",
        migrations[0]
    );
    assert!(
        migrations[1].contains("cityHash64(version)"),
        "{}",
        migrations[1]
    );
}

#[test]
fn a_table_without_the_post_key_is_sharded_by_its_whole_sorting_key() {
    let statement = "
CREATE TABLE IF NOT EXISTS story_members (
    story_id String,
    member Array(Tuple(String, UInt64)),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (story_id, version)";
    let made = cluster_migration_statements(statement, "db", "c");
    assert!(
        made[1].ends_with("cityHash64(story_id, version))"),
        "{}",
        made[1]
    );
    assert!(made[0].contains("member Array(Tuple(String, UInt64))"));
}

#[test]
fn alters_go_to_the_local_tables_of_every_shard() {
    assert_eq!(
        cluster_alter_statement("ALTER TABLE posts DROP PARTITION ?", "tw", "twc"),
        "ALTER TABLE tw.posts_local ON CLUSTER twc DROP PARTITION ?"
    );
    assert_eq!(
        normalized(&cluster_alter_statement(
            "\nALTER TABLE trend_rollup DELETE\nWHERE generation < 3",
            "tw",
            "twc"
        )),
        "ALTER TABLE tw.trend_rollup_local ON CLUSTER twc DELETE WHERE generation < 3"
    );
    assert_eq!(cluster_alter_statement("SELECT 1", "tw", "twc"), "SELECT 1");
}

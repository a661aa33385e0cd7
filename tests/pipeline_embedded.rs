//! `tidewatch run` on the in-process bus does the whole job without Kafka: replay, score and
//! store, with bad lines dead-lettered and every good line stored exactly once.

use tidewatch_e2e::*;

#[test]
fn run_on_the_embedded_bus_stores_every_good_post_and_counts_bad_lines() {
    if !services_available("run_on_the_embedded_bus") {
        return;
    }
    let name = unique_name("tw_embedded");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_config(
        &directory,
        None,
        &name,
        "[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n\n[[watch]]\nname = \"acme\"\nany = [\"acme air\", \"initech\"]\n",
    );
    let good_path = directory.join("good.jsonl");
    let good = generate_posts(&good_path, 20_000, 21);
    let mut file = std::fs::read(&good_path).unwrap();
    file.extend_from_slice(b"{broken json\n");
    file.extend_from_slice(
        b"{\"source\":\"x\",\"created_at\":\"2025-01-01T00:00:00Z\",\"text\":\"no id\"}\n",
    );
    file.extend_from_slice(b"\xff\xfe not utf-8\n");
    // A valid post that matches no watch: counted by the score stage, not stored.
    file.extend_from_slice(
        b"{\"source\":\"rss\",\"source_id\":\"unwatched\",\"created_at\":\"2025-03-01T00:00:00Z\",\"text\":\"a quiet day\"}\n",
    );
    // The first 500 posts again: a duplicate delivery must not count twice.
    for line in good.iter().take(500) {
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
    }
    let mixed_path = directory.join("mixed.jsonl");
    std::fs::write(&mixed_path, file).unwrap();

    let output = run_tidewatch(&config, &["run", "--posts", mixed_path.to_str().unwrap()]);
    println!("{output}");
    assert!(output.contains("replayed 20501 posts"), "{output}");
    assert!(
        output.contains("3 lines dead-lettered by replay"),
        "{output}"
    );
    assert!(output.contains("dead letters logged: 3"), "{output}");
    let expected_globex = good
        .iter()
        .filter(|line| line.to_lowercase().contains("globex"))
        .count() as u64;
    assert_eq!(
        clickhouse_number(&format!("SELECT count() FROM {name}.posts FINAL")),
        20_000
    );
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT count() FROM {name}.posts FINAL WHERE has(watches, 'globex')"
        )),
        expected_globex
    );
    assert!(
        output.contains(&format!("watch globex: {expected_globex} posts")),
        "{output}"
    );
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}

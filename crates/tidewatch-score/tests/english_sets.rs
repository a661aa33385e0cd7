//! The language rule on real English text: the VADER paper's four ground-truth sets (tweets,
//! movie reviews, Amazon reviews, NYT editorials) must almost all be scored as English, and a
//! foreign text must never be. Reads `../shared/data`; when it is absent, skips outside CI and
//! fails under CI (`tidewatch_test_support::shared_data`).

use tidewatch_score::LanguageDetector;

fn ground_truth(name: &str) -> Option<Vec<String>> {
    let path = tidewatch_test_support::shared_data(
        "english_ground_truth_sets_are_scored",
        &format!("vader/ground_truth/{name}"),
    )?;
    let raw = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let raw = String::from_utf8_lossy(&raw);
    Some(
        raw.lines()
            .filter_map(|line| line.trim_end_matches('\r').splitn(3, '\t').nth(2))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn english_ground_truth_sets_are_scored() {
    let sets = [
        ("tweets_GroundTruth.txt", 0.998),
        ("movieReviewSnippets_GroundTruth.txt", 0.998),
        ("amazonReviewSnippets_GroundTruth.txt", 0.998),
        ("nytEditorialSnippets_GroundTruth.txt", 0.998),
    ];
    let mut detector = LanguageDetector::new();
    for (name, minimum) in sets {
        let Some(texts) = ground_truth(name) else {
            return;
        };
        let mut unscored = Vec::new();
        for text in &texts {
            let decision = detector.decide(text, None);
            if !decision.scored {
                unscored.push((decision.lang_detected, text));
            }
        }
        let share = 1.0 - unscored.len() as f64 / texts.len() as f64;
        println!(
            "{name}: {} texts, {:.2}% scored as English; unscored e.g. {:?}",
            texts.len(),
            share * 100.0,
            &unscored[..unscored.len().min(3)]
        );
        assert!(share >= minimum, "{name}: only {share:.4} scored");
    }
}

//! The VADER paper's table, reproduced: Pearson r between compound and the human mean rating
//! on the four ground-truth sets in `shared/data/vader/ground_truth/` must equal
//! vaderSentiment 3.3.2's values to three decimals (tweets 0.872, movie snippets 0.427,
//! Amazon snippets 0.590, NYT snippets 0.503). When the data is absent, skips outside CI and
//! fails under CI (`tidewatch_test_support::shared_data`).

use tidewatch_sentiment::SentimentEngine;

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    sxy / (sxx * syy).sqrt()
}

#[test]
fn pearson_r_matches_vader_3_3_2() {
    let sets = [
        ("tweets", 4_200, "0.872"),
        ("movieReviewSnippets", 10_605, "0.427"),
        ("amazonReviewSnippets", 3_708, "0.590"),
        ("nytEditorialSnippets", 5_190, "0.503"),
    ];
    let mut engine = SentimentEngine::new();
    for (name, rows, want) in sets {
        let Some(path) = tidewatch_test_support::shared_data(
            "pearson_r_matches_vader_3_3_2",
            &format!("vader/ground_truth/{name}_GroundTruth.txt"),
        ) else {
            return;
        };
        let raw = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let (mut compound, mut human) = (Vec::new(), Vec::new());
        // Tab-separated id, mean rating, text; CRLF line ends, no final newline.
        for line in raw
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .filter(|l| !l.is_empty())
        {
            let mut f = line.splitn(3, '\t');
            let (Some(_id), Some(mean), Some(text)) = (f.next(), f.next(), f.next()) else {
                panic!("{name}: malformed line {line:?}");
            };
            human.push(mean.parse::<f64>().expect("mean rating"));
            compound.push(engine.polarity_scores(text).compound);
        }
        let r = pearson(&compound, &human);
        println!("{name}: {} texts, r = {r:.6}", compound.len());
        assert_eq!(compound.len(), rows, "{name} row count");
        assert_eq!(format!("{r:.3}"), want, "{name}: r = {r}");
    }
}

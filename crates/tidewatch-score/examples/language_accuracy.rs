//! The language decision's accuracy, today's rule against the whatlang rule it replaced, on the
//! same texts in one run: prints the Markdown tables the README carries.
//!
//! `cargo run --release -p tidewatch-score --example language_accuracy [--misses]`
//!
//! * the committed labelled set (`tests/data/languages.tsv`): per language, how often
//!   `lang_detected` is the true language, and how often the scored / unscored choice is right
//!   (scored exactly when the text is English);
//! * the English sets of `../shared/data` (VADER ground truth, airline tweets): the share
//!   scored as English, and agreement with whatlang's own reliable answers;
//! * the Mastodon and Bluesky fixtures: agreement with their declared `lang`;
//! * speed: decisions per second of the thread's own CPU time (`/proc/thread-self/schedstat`,
//!   so that other work on a busy machine does not count), on the VADER tweets; criterion's
//!   wall-clock figures are `cargo bench -p tidewatch-score --bench language`.

#[path = "../benches/support/corpus.rs"]
mod corpus;
#[path = "../benches/support/whatlang_decision.rs"]
mod whatlang_decision;

use std::collections::BTreeMap;

use corpus::Sample;
use tidewatch_score::{LanguageDecision, LanguageDetector};
use whatlang_decision::{iso_639_1, WhatlangDetector};

#[derive(Default)]
struct Counts {
    texts: usize,
    old_lang: usize,
    new_lang: usize,
    old_scored: usize,
    new_scored: usize,
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "–".to_string();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

struct Both {
    old: WhatlangDetector,
    new: LanguageDetector,
}

impl Both {
    fn decide(&mut self, sample: &Sample) -> (LanguageDecision, LanguageDecision) {
        let declared = sample.declared.as_deref();
        let old = self.old.decide(&sample.text, declared);
        let new = self.new.decide(&sample.text, declared);
        (
            LanguageDecision {
                lang_detected: old.lang_detected,
                scored: old.scored,
            },
            new,
        )
    }
}

fn main() {
    let show_misses = std::env::args().any(|arg| arg == "--misses");
    let mut both = Both {
        old: WhatlangDetector::new(),
        new: LanguageDetector::new(),
    };

    println!(
        "Labelled set (tests/data/languages.tsv): lang_detected right / scored-or-not right\n"
    );
    println!("| language | texts | whatlang rule: lang | new: lang | whatlang rule: scored | new: scored |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut by_language: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for sample in corpus::labelled() {
        let label = sample.label.clone().unwrap_or_default();
        let (old, new) = both.decide(&sample);
        let english = label == "en";
        let counts = by_language.entry(label.clone()).or_default();
        for counts in [counts, &mut total] {
            counts.texts += 1;
            counts.old_lang += usize::from(old.lang_detected.as_deref() == Some(&label));
            counts.new_lang += usize::from(new.lang_detected.as_deref() == Some(&label));
            counts.old_scored += usize::from(old.scored == english);
            counts.new_scored += usize::from(new.scored == english);
        }
        if show_misses && (new.lang_detected.as_deref() != Some(&label) || new.scored != english) {
            eprintln!(
                "miss {label} declared {:?}: new {:?} {} / old {:?} {}: {}",
                sample.declared,
                new.lang_detected,
                new.scored,
                old.lang_detected,
                old.scored,
                sample.text
            );
        }
    }
    for (label, counts) in by_language.iter().chain([(&"all".to_string(), &total)]) {
        println!(
            "| {label} | {} | {} | {} | {} | {} |",
            counts.texts,
            percent(counts.old_lang, counts.texts),
            percent(counts.new_lang, counts.texts),
            percent(counts.old_scored, counts.texts),
            percent(counts.new_scored, counts.texts),
        );
    }

    println!("\nEnglish sets of ../shared/data (absent sets are left out)\n");
    println!("| set | texts | scored, whatlang rule | scored, new | new = whatlang's reliable answer | new = whatlang rule's lang |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut sets: Vec<(String, Vec<Sample>)> = corpus::VADER_SETS
        .iter()
        .map(|name| (format!("VADER {name}"), corpus::vader_set(name)))
        .collect();
    sets.push(("airline Tweets.csv".to_string(), corpus::airline_tweets()));
    let detector = whatlang::Detector::new();
    for (name, samples) in sets.iter().filter(|(_, samples)| !samples.is_empty()) {
        let (mut old_scored, mut new_scored, mut reliable, mut agree_reliable, mut agree_old) =
            (0, 0, 0, 0, 0);
        for sample in samples {
            let (old, new) = both.decide(sample);
            old_scored += usize::from(old.scored);
            new_scored += usize::from(new.scored);
            agree_old += usize::from(old.lang_detected == new.lang_detected);
            if let Some(info) = detector
                .detect(&sample.text)
                .filter(|info| info.is_reliable())
            {
                reliable += 1;
                agree_reliable +=
                    usize::from(new.lang_detected.as_deref() == Some(iso_639_1(info.lang())));
            }
            if show_misses && !new.scored {
                eprintln!(
                    "unscored in {name}: {:?}: {}",
                    new.lang_detected, sample.text
                );
            }
        }
        println!(
            "| {name} | {} | {} | {} | {} of {reliable} | {} |",
            samples.len(),
            percent(old_scored, samples.len()),
            percent(new_scored, samples.len()),
            percent(agree_reliable, reliable),
            percent(agree_old, samples.len()),
        );
    }

    let fixtures = corpus::declared_fixtures();
    if !fixtures.is_empty() {
        println!("\nMastodon and Bluesky fixtures: lang_detected = the declared `lang`\n");
        let (mut old_agree, mut new_agree) = (0, 0);
        for sample in &fixtures {
            let (old, new) = both.decide(sample);
            old_agree += usize::from(old.lang_detected == sample.declared);
            new_agree += usize::from(new.lang_detected == sample.declared);
            println!(
                "* declared {:?}: whatlang rule {:?}, new {:?}: {:.60}",
                sample.declared,
                old.lang_detected,
                new.lang_detected,
                sample.text.trim()
            );
        }
        println!(
            "\n{} texts: whatlang rule agrees {}, new agrees {}",
            fixtures.len(),
            percent(old_agree, fixtures.len()),
            percent(new_agree, fixtures.len())
        );
    }

    speed(&mut both);
}

/// Nanoseconds this thread has run on a CPU.
fn thread_cpu_ns() -> Option<u64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    schedstat.split_whitespace().next()?.parse().ok()
}

fn speed(both: &mut Both) {
    let mut samples = corpus::vader_set("tweets_GroundTruth.txt");
    if samples.is_empty() {
        samples = corpus::labelled();
    }
    let per_cpu_second = |decide: &mut dyn FnMut(&Sample) -> bool, rounds: usize| {
        let start = thread_cpu_ns()?;
        let mut scored = 0_usize;
        for _ in 0..rounds {
            for sample in &samples {
                scored += usize::from(decide(sample));
            }
        }
        std::hint::black_box(scored);
        let seconds = (thread_cpu_ns()? - start) as f64 / 1e9;
        Some((rounds * samples.len()) as f64 / seconds)
    };
    let new = per_cpu_second(
        &mut |sample| {
            both.new
                .decide(&sample.text, sample.declared.as_deref())
                .scored
        },
        100,
    );
    let old = per_cpu_second(
        &mut |sample| {
            both.old
                .decide(&sample.text, sample.declared.as_deref())
                .scored
        },
        2,
    );
    let whichlang_alone = per_cpu_second(
        &mut |sample| whichlang::detect_language(&sample.text) == whichlang::Lang::Eng,
        20,
    );
    if let (Some(new), Some(old), Some(whichlang_alone)) = (new, old, whichlang_alone) {
        println!(
            "\nSpeed, {} texts, decisions per CPU-second of one thread: new {new:.0}, whatlang rule \
             {old:.0} ({:.0}x); whichlang alone on every text {whichlang_alone:.0}",
            samples.len(),
            new / old
        );
    }
}

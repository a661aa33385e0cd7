//! The words the simulator writes with: per kind of brand, the things people talk about, the
//! places, and templates for positive, neutral and negative chatter, replies and reviews.
//!
//! Guarantees: everything is static data plus [`fill`], a pure function of its template, the
//! brand and the random stream, so a seed always gives the same texts. The injected story's
//! words (see `story`) never appear in this normal vocabulary, which is what lets the detector
//! tell the story from the chatter.

use super::rng::SimRng;
use super::SimulatedBrand;

/// What a simulated brand is, which decides what people say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrandKind {
    Airline,
    Bank,
    Software,
}

/// The slot lists of one kind of brand.
pub(crate) struct KindWords {
    pub(crate) things: &'static [&'static str],
    pub(crate) places: &'static [&'static str],
    pub(crate) purchases: &'static [&'static str],
    pub(crate) own_templates: &'static [(Tone, &'static str)],
}

/// The tone a template is written in (and so, roughly, the sentiment VADER gives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Positive,
    Neutral,
    Negative,
}

const AIRLINE: KindWords = KindWords {
    things: &[
        "crew",
        "gate agent",
        "legroom",
        "lounge",
        "boarding process",
        "inflight wifi",
        "snack box",
        "window seat",
        "pilot",
        "landing",
        "upgrade list",
        "check-in desk",
        "bag drop",
        "seat pitch",
        "red-eye",
        "aisle seat",
        "cabin",
        "coffee",
        "priority lane",
        "loyalty program",
        "entertainment screens",
        "overhead bins",
        "jet bridge",
        "meal service",
        "blanket",
        "headphones",
        "exit row",
        "gate change",
        "boarding pass",
        "mobile check-in",
        "tray table",
        "flight attendants",
        "baggage claim",
        "connecting flight",
        "night flight",
        "cabin lights",
        "route map",
        "carry-on rule",
        "pet policy",
        "kids menu",
    ],
    places: &[
        "Denver",
        "Boston",
        "Seattle",
        "Austin",
        "Chicago",
        "Miami",
        "Portland",
        "Phoenix",
        "Atlanta",
        "Dallas",
        "Newark",
        "Oakland",
        "Tampa",
        "Raleigh",
        "Nashville",
        "Omaha",
    ],
    purchases: &[
        "my Denver booking",
        "one seat upgrade",
        "a checked bag",
        "my flight to Boston",
        "the Chicago return",
        "a single ticket to Miami",
        "my seat selection",
        "the Austin trip",
    ],
    own_templates: &[
        (
            Tone::Positive,
            "Landed early in {place} with {b}, {good_close}",
        ),
        (
            Tone::Positive,
            "The {b} crew on the {place} leg were {good}. {good_close}",
        ),
        (
            Tone::Neutral,
            "Flying {b} to {place} on {day}. Is the {thing} worth it?",
        ),
        (
            Tone::Neutral,
            "{b} moved my {place} departure to {time}, fine by me",
        ),
        (
            Tone::Negative,
            "{b} flight to {place} {delayed} {n} minutes, {bad_close}",
        ),
        (
            Tone::Negative,
            "{wait} in {place} for {n} minutes {when}. {b} {bad_close}",
        ),
    ],
};

const BANK: KindWords = KindWords {
    things: &[
        "mobile app",
        "branch staff",
        "savings rate",
        "mortgage team",
        "wire transfer",
        "ATM",
        "phone line",
        "debit card",
        "credit limit",
        "new website",
        "overdraft policy",
        "online banking",
        "chat assistant",
        "fraud team",
        "account manager",
        "statement layout",
        "interest rate",
        "direct deposit",
        "loan officer",
        "rewards program",
        "cashback card",
        "branch hours",
        "teller",
        "card reader",
        "savings goal",
        "budget tool",
        "travel notice",
        "joint account",
        "student account",
        "pin reset",
        "cheque deposit",
        "spending report",
        "standing order",
        "currency exchange",
        "credit score tool",
        "contactless limit",
    ],
    places: &[
        "downtown",
        "Main Street",
        "the airport",
        "Elm Park",
        "Riverside",
        "Hill Road",
        "Old Town",
        "the mall",
        "Lakeside",
        "Northgate",
        "Harbor Point",
        "Westfield",
    ],
    purchases: &[
        "one card payment",
        "a single transfer",
        "my rent payment",
        "the grocery run",
        "one subscription",
        "my phone bill",
    ],
    own_templates: &[
        (
            Tone::Positive,
            "The {b} branch on {place} sorted my mortgage in {n} minutes. {good_close}",
        ),
        (
            Tone::Neutral,
            "Does the {b} {thing} work on weekends? Asking for {day}",
        ),
        (
            Tone::Neutral,
            "Opened a {b} account at the {place} branch, we will see",
        ),
        (Tone::Negative, "{b} {thing} {broken} {when}, {bad_close}"),
        (
            Tone::Negative,
            "{wait} {n} minutes for the {b} {thing}. {bad_close}",
        ),
    ],
};

const SOFTWARE: KindWords = KindWords {
    things: &[
        "TPS report module",
        "release notes",
        "login page",
        "dashboard",
        "support desk",
        "search box",
        "export feature",
        "dark mode",
        "sync engine",
        "mobile client",
        "admin console",
        "pricing page",
        "onboarding flow",
        "changelog",
        "keyboard shortcuts",
        "plugin store",
        "status page",
        "calendar view",
        "file preview",
        "team inbox",
        "audit log",
        "print layout",
        "spell checker",
        "sharing dialog",
        "offline mode",
        "notification settings",
        "import wizard",
        "billing page",
        "report builder",
        "mobile widget",
        "command palette",
        "tag manager",
        "trash folder",
        "version history",
    ],
    places: &[
        "version 4.2",
        "the beta",
        "the Windows build",
        "the Mac app",
        "the web client",
        "the Linux package",
        "the tablet app",
        "the latest patch",
        "the spring release",
    ],
    purchases: &[
        "one annual plan",
        "my team license",
        "a single seat",
        "the pro upgrade",
    ],
    own_templates: &[
        (
            Tone::Positive,
            "{b} {place} finally fixed the {thing}. {good_close}",
        ),
        (
            Tone::Neutral,
            "Anyone tried the {b} {thing} in {place} yet?",
        ),
        (
            Tone::Neutral,
            "{b} ships {place} on {day}, the {thing} changes a bit",
        ),
        (
            Tone::Negative,
            "{b} {place}: the {thing} {broken} {when}, {bad_close}",
        ),
        (
            Tone::Negative,
            "{wait} {n} minutes on the {b} {thing} {when}. {bad_close}",
        ),
    ],
};

impl BrandKind {
    pub(crate) fn words(self) -> &'static KindWords {
        match self {
            BrandKind::Airline => &AIRLINE,
            BrandKind::Bank => &BANK,
            BrandKind::Software => &SOFTWARE,
        }
    }
}

/// Templates every kind shares.
pub(crate) const SHARED_TEMPLATES: &[(Tone, &str)] = &[
    (
        Tone::Positive,
        "Honestly the {thing} at {b} is {good} these days",
    ),
    (
        Tone::Positive,
        "Big thanks to {b} for the {good} {thing}, {good_close}",
    ),
    (Tone::Positive, "{b} {thing} was {good} today. {good_close}"),
    (
        Tone::Positive,
        "Credit where due: {b} and their {thing}. {good_close}",
    ),
    (
        Tone::Neutral,
        "Thinking about switching to {b}. How is the {thing}?",
    ),
    (
        Tone::Neutral,
        "{b} sent an email about the {thing}, reading it on {day}",
    ),
    (Tone::Neutral, "Anyone know when {b} updates the {thing}?"),
    (
        Tone::Neutral,
        "Comparing {b} with the others, mostly for the {thing}",
    ),
    (
        Tone::Neutral,
        "Saw a {b} ad about the {thing} on my way to {place}",
    ),
    (
        Tone::Negative,
        "The {thing} at {b} is {bad} {when}, {bad_close}",
    ),
    (
        Tone::Negative,
        "{neg_open} the {b} {thing} {when}. {bad_close}",
    ),
    (Tone::Negative, "{b} {thing} {bad} {when}. {bad_close}"),
];

pub(crate) const REPLY_TEMPLATES: &[(Tone, &str)] = &[
    (
        Tone::Positive,
        "same experience here, the {thing} was {good}",
    ),
    (Tone::Positive, "agreed, they have been {good} lately"),
    (Tone::Positive, "glad it worked out! {good_close}"),
    (Tone::Neutral, "which {thing} do you mean?"),
    (Tone::Neutral, "did you ask about the {thing}?"),
    (Tone::Neutral, "interesting, mine was different on {day}"),
    (Tone::Neutral, "good to know before {day}"),
    (
        Tone::Negative,
        "ugh, the {thing} was {bad} for me too {when}",
    ),
    (Tone::Negative, "{neg_open} {b} too. {bad_close}"),
    (Tone::Negative, "sorry, that sounds {bad}"),
];

pub(crate) const REVIEW_TEMPLATES: &[(u8, &str)] = &[
    (
        5,
        "Love the {b} app, the {thing} is {good} and quick. {good_close}",
    ),
    (5, "{b} app does everything I need, {good} {thing}"),
    (
        4,
        "Solid {b} app. The {thing} could be faster but it is {good}",
    ),
    (4, "Good {b} app overall, wish the {thing} had more options"),
    (3, "The {b} app is okay. The {thing} is confusing sometimes"),
    (3, "Average {b} app, the {thing} moved after the update"),
    (2, "{b} app keeps logging me out, the {thing} is {bad}"),
    (
        1,
        "The {b} app crashes whenever I open the {thing}. {bad_close}",
    ),
];

const GOOD: &[&str] = &[
    "great",
    "excellent",
    "lovely",
    "fantastic",
    "super friendly",
    "really helpful",
    "smooth",
    "brilliant",
    "pleasant",
    "awesome",
];
const BAD: &[&str] = &[
    "slow",
    "awful",
    "annoying",
    "disappointing",
    "frustrating",
    "poor",
    "a mess",
    "bad",
    "unreliable",
    "terrible",
];
const GOOD_CLOSES: &[&str] = &[
    "well done",
    "would recommend",
    "made my day",
    "thank you!",
    "happy customer",
    "nice work",
    "10/10",
    "pleasantly surprised",
];
const BAD_CLOSES: &[&str] = &[
    "not happy",
    "so annoying",
    "come on",
    "sigh",
    "really disappointed",
    "do better",
    "what a waste of time",
    "never again",
];
const DAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "the weekend",
];
const TIMES: &[&str] = &[
    "6:40", "7:15", "9:05", "11:30", "13:20", "15:45", "18:10", "21:55",
];
const OPENERS: &[&str] = &["", "", "", "", "ok so ", "fyi ", "hm, ", "update: ", "lol "];
const TAILS: &[&str] = &[
    "",
    "",
    "",
    "",
    " 🙂",
    " 👍",
    " 🙃",
    " 😤",
    " #travel",
    " #mondays",
];

// Negative chatter varies its wording most: the detector looks hardest at negative words.
const NEG_OPENS: &[&str] = &[
    "Not impressed with",
    "Fed up with",
    "Struggling with",
    "Having trouble with",
    "Disappointed by",
    "Tired of",
    "Annoyed at",
    "Done with",
    "Giving up on",
    "Losing patience with",
    "Sick of",
    "Frustrated by",
    "Unhappy with",
    "Grumbling about",
];
const WHENS: &[&str] = &[
    "today",
    "this morning",
    "again",
    "tonight",
    "this week",
    "yesterday",
    "lately",
    "since Monday",
    "all weekend",
    "every time",
    "since the update",
    "at lunch",
];
const BROKEN: &[&str] = &[
    "was down",
    "stopped working",
    "kept failing",
    "broke",
    "went offline",
    "froze",
    "timed out",
    "acted up",
    "glitched",
];
const WAITS: &[&str] = &[
    "Waited",
    "Sat",
    "Stuck",
    "Queued",
    "Hung around",
    "Spent",
    "Lost",
];
const DELAYED: &[&str] = &[
    "delayed",
    "late by",
    "held for",
    "stuck for",
    "pushed back",
    "running late",
];

/// Fills a template's `{slot}`s for `brand`, then adds an opener and a tail, so that two
/// posts from one template rarely share all their words.
pub(crate) fn fill(template: &str, brand: &SimulatedBrand, rng: &mut SimRng) -> String {
    let words = brand.kind.words();
    let mut out = String::from(rng.word(OPENERS));
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let slot = &rest[open + 1..open + close];
        match slot {
            "b" => out.push_str(&brand.mention(rng)),
            "thing" => out.push_str(rng.word(words.things)),
            "place" => out.push_str(rng.word(words.places)),
            "purchase" => out.push_str(rng.word(words.purchases)),
            "good" => out.push_str(rng.word(GOOD)),
            "bad" => out.push_str(rng.word(BAD)),
            "good_close" => out.push_str(rng.word(GOOD_CLOSES)),
            "bad_close" => out.push_str(rng.word(BAD_CLOSES)),
            "day" => out.push_str(rng.word(DAYS)),
            "time" => out.push_str(rng.word(TIMES)),
            "neg_open" => out.push_str(rng.word(NEG_OPENS)),
            "when" => out.push_str(rng.word(WHENS)),
            "broken" => out.push_str(rng.word(BROKEN)),
            "wait" => out.push_str(rng.word(WAITS)),
            "delayed" => out.push_str(rng.word(DELAYED)),
            "n" => out.push_str(&(5 + rng.below(115)).to_string()),
            other => out.push_str(other),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.push_str(rng.word(TAILS));
    out
}

/// A template of the wanted tone: the brand kind's own ones and the shared ones together.
pub(crate) fn post_template(kind: BrandKind, tone: Tone, rng: &mut SimRng) -> &'static str {
    let own = kind.words().own_templates.iter();
    let candidates: Vec<&'static str> = own
        .chain(SHARED_TEMPLATES.iter())
        .filter(|(template_tone, _)| *template_tone == tone)
        .map(|(_, template)| *template)
        .collect();
    rng.word(&candidates)
}

/// A reply template of the wanted tone.
pub(crate) fn reply_template(tone: Tone, rng: &mut SimRng) -> &'static str {
    let candidates: Vec<&'static str> = REPLY_TEMPLATES
        .iter()
        .filter(|(template_tone, _)| *template_tone == tone)
        .map(|(_, template)| *template)
        .collect();
    rng.word(&candidates)
}

const HANDLE_FIRST: &[&str] = &[
    "sam", "alex", "jo", "maria", "dev", "kai", "lee", "nina", "omar", "priya", "tom", "zoe",
    "ana", "ben", "chloe", "dan", "eli", "fatima", "gus", "hana", "ivan", "jun", "kemi", "luca",
    "mei", "noah", "olga", "pat", "quinn", "rosa", "sven", "tara", "uma", "vik", "wren", "yusuf",
];
const HANDLE_SECOND: &[&str] = &[
    "",
    "_travels",
    "codes",
    "writes",
    "_nyc",
    "_b",
    "flies",
    "_la",
    "reads",
    "cooks",
    "runs",
    "_uk",
    "photo",
    "_dev",
    "plays",
    "_pdx",
    "42",
    "_outdoors",
    "_music",
    "bakes",
];

/// A handle from a pool of a few tens of thousands, so authors recur as on a real network.
pub(crate) fn handle(rng: &mut SimRng) -> String {
    let first = rng.word(HANDLE_FIRST);
    let second = rng.word(HANDLE_SECOND);
    match rng.below(3) {
        0 => format!("{first}{second}"),
        _ => format!("{first}{second}{}", rng.below(40)),
    }
}

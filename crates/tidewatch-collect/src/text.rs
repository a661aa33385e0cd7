//! HTML to plain text, and the text clamp every post goes through.
//!
//! Guarantees: [`html_to_text`] never panics on any input; it drops tags (and the content of
//! `script`, `style` and comments), turns block elements (`p`, `div`, `li`, headings, `tr`, …)
//! into paragraph breaks and `<br>` into a line break, collapses source whitespace as a browser
//! would, and decodes the named entities that real posts use plus every numeric entity. A `<`
//! that does not open a tag is kept as text. [`clamp_text`] drops control characters other than
//! newline and tab and cuts the text to [`MAX_TEXT_BYTES`] on a character boundary.

use tidewatch_model::MAX_TEXT_BYTES;

/// Elements that start a new paragraph when they open or close.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "dl",
    "figure",
];
/// Elements that start a new line.
const LINES: &[&str] = &["br", "li", "dt", "dd"];
/// Elements whose content is not text.
const SKIPPED: &[&str] = &["script", "style", "head", "title"];

/// Plain text of an HTML fragment, with paragraph and line breaks kept.
pub fn html_to_text(html: &str) -> String {
    let mut out = Writer::default();
    let mut rest = html;
    while let Some(position) = rest.find(['<', '&']) {
        out.text(&rest[..position]);
        rest = &rest[position..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_entity(rest);
            out.text_char(decoded);
            rest = &rest[used..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(end) = rest.find('>') else {
            out.text(rest);
            rest = "";
            break;
        };
        let tag = &rest[1..end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|letter| letter.to_ascii_lowercase())
            .collect();
        if name.is_empty() && !tag.starts_with('!') && !tag.starts_with('?') {
            // "a < b": not a tag.
            out.text_char('<');
            rest = &rest[1..];
            continue;
        }
        rest = &rest[end + 1..];
        if SKIPPED.contains(&name.as_str()) && !tag.starts_with('/') && !tag.ends_with('/') {
            let closing = format!("</{name}");
            rest = find_ascii_case_insensitive(rest, &closing).map_or("", |at| {
                rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..])
            });
        } else if BLOCKS.contains(&name.as_str()) {
            out.brk(2);
        } else if LINES.contains(&name.as_str()) {
            out.brk(1);
        }
    }
    out.text(rest);
    out.out
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[derive(Default)]
struct Writer {
    out: String,
    pending_space: bool,
    pending_break: u8,
}

impl Writer {
    fn text(&mut self, text: &str) {
        for letter in text.chars() {
            self.text_char(letter);
        }
    }

    fn text_char(&mut self, letter: char) {
        if letter.is_whitespace() {
            self.pending_space = true;
            return;
        }
        if !self.out.is_empty() {
            if self.pending_break > 0 {
                for _ in 0..self.pending_break {
                    self.out.push('\n');
                }
            } else if self.pending_space {
                self.out.push(' ');
            }
        }
        self.pending_break = 0;
        self.pending_space = false;
        self.out.push(letter);
    }

    fn brk(&mut self, lines: u8) {
        self.pending_break = self.pending_break.max(lines);
        self.pending_space = false;
    }
}

/// Decodes the entity at the start of `text` (which starts with `&`): the character and the
/// number of bytes used. An unknown or malformed entity is the `&` alone.
fn decode_entity(text: &str) -> (char, usize) {
    let body_end = text
        .char_indices()
        .skip(1)
        .take(12)
        .find(|(_, letter)| !(letter.is_ascii_alphanumeric() || *letter == '#'))
        .filter(|(_, letter)| *letter == ';');
    let Some((semicolon, _)) = body_end else {
        return ('&', 1);
    };
    let name = &text[1..semicolon];
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let value = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => number.parse::<u32>().ok(),
        };
        value.and_then(char::from_u32)
    } else {
        named_entity(name)
    };
    match decoded {
        Some(letter) => (letter, semicolon + 1),
        None => ('&', 1),
    }
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "times" => '×',
        "deg" => '°',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// Drops control characters other than `\n` and `\t` and cuts to [`MAX_TEXT_BYTES`] on a
/// character boundary.
pub fn clamp_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT_BYTES));
    for letter in text.chars() {
        if letter.is_control() && letter != '\n' && letter != '\t' {
            continue;
        }
        if out.len() + letter.len_utf8() > MAX_TEXT_BYTES {
            break;
        }
        out.push(letter);
    }
    out
}

/// Joins a title and a body with a paragraph break, leaving out whichever is empty.
pub(crate) fn join_title(title: Option<&str>, body: &str) -> String {
    let title = title.map(str::trim).unwrap_or("");
    let body = body.trim();
    match (title.is_empty(), body.is_empty()) {
        (true, _) => body.to_string(),
        (false, true) => title.to_string(),
        (false, false) => format!("{title}\n\n{body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_links_and_entities() {
        let html = "<p>&quot;Lost&quot; it</p><p><a href=\"x\"><span class=\"invisible\">https://www.</span><span>ex.com/a</span></a></p>";
        assert_eq!(html_to_text(html), "\"Lost\" it\n\nhttps://www.ex.com/a");
        assert_eq!(html_to_text("a<br>b<br/>  c"), "a\nb\nc");
        assert_eq!(
            html_to_text("x &lt;b&gt; &#x27;y&#39; &bogus; &"),
            "x <b> 'y' &bogus; &"
        );
        assert_eq!(html_to_text("1 < 2 <script>no</script>ok"), "1 < 2 ok");
        assert_eq!(html_to_text("Hi<p>there<p>HN"), "Hi\n\nthere\n\nHN");
        assert_eq!(html_to_text("<!-- c -->t<b"), "t<b");
    }

    #[test]
    fn clamp_cuts_on_char_boundary() {
        let long = "é".repeat(MAX_TEXT_BYTES);
        let clamped = clamp_text(&long);
        assert!(clamped.len() <= MAX_TEXT_BYTES);
        assert_eq!(clamp_text("a\u{0}b\tc\n"), "ab\tc\n");
    }
}

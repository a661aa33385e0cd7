//! Python's `str.isspace()`, `str.isupper()` and `str.lower()`, pinned.
//!
//! Guarantees: [`is_py_space`] is CPython's whitespace class (Unicode `White_Space` plus the
//! separator controls U+001C–U+001F). [`py_isupper`] and [`py_lower_into`] answer from
//! `data/casing_tables.tsv`, a record of CPython 3.14's own answers for every code point
//! (Unicode 16.0), so scores do not move when the Rust standard library's Unicode version
//! does; ASCII is answered inline and never touches the tables. `lower` includes CPython's
//! full mappings (U+0130 → "i̇") and its one contextual rule, final sigma.

use std::cmp::Ordering;
use std::sync::LazyLock;

/// CPython casing behaviour per code point (header in the file names the interpreter).
/// Recorded by the `vader-parity` project (MIT OR Apache-2.0) from CPython 3.14.6.
const CASING_TABLES: &str = include_str!("../data/casing_tables.tsv");

/// Python `str.isspace()` for one character.
#[inline]
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

struct Casing {
    /// Characters that make `isupper()` false (lowercase or titlecase).
    isupper_false: Vec<(u32, u32)>,
    /// Characters that count as the uppercase witness `isupper()` needs.
    isupper_cased: Vec<(u32, u32)>,
    case_ignorable: Vec<(u32, u32)>,
    cased: Vec<(u32, u32)>,
    /// Non-identity full lowercase mappings, sorted by code point.
    lower: Vec<(u32, String)>,
}

static CASING: LazyLock<Casing> = LazyLock::new(|| parse(CASING_TABLES));

fn parse(raw: &str) -> Casing {
    let mut t = Casing {
        isupper_false: Vec::new(),
        isupper_cased: Vec::new(),
        case_ignorable: Vec::new(),
        cased: Vec::new(),
        lower: Vec::new(),
    };
    for line in raw.lines().filter(|l| !l.starts_with('#')) {
        let mut f = line.split('\t');
        let (Some(kind), Some(a), Some(b)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(a) = u32::from_str_radix(a, 16) else {
            continue;
        };
        if kind == "lower" {
            let mapped = b
                .split(' ')
                .filter_map(|cp| u32::from_str_radix(cp, 16).ok())
                .filter_map(char::from_u32)
                .collect();
            t.lower.push((a, mapped));
            continue;
        }
        let Ok(b) = u32::from_str_radix(b, 16) else {
            continue;
        };
        match kind {
            "isupper_false" => t.isupper_false.push((a, b)),
            "isupper_cased" => t.isupper_cased.push((a, b)),
            "case_ignorable" => t.case_ignorable.push((a, b)),
            "cased" => t.cased.push((a, b)),
            _ => {}
        }
    }
    for v in [
        &mut t.isupper_false,
        &mut t.isupper_cased,
        &mut t.case_ignorable,
        &mut t.cased,
    ] {
        v.sort_unstable();
    }
    t.lower.sort_unstable_by_key(|&(cp, _)| cp);
    t
}

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    ranges
        .binary_search_by(|&(start, end)| {
            if end < cp {
                Ordering::Less
            } else if start > cp {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Python `s.isupper()`: no lowercase or titlecase character, and at least one uppercase one.
pub(crate) fn py_isupper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_lowercase() {
                return false;
            }
            cased |= c.is_ascii_uppercase();
        } else {
            let t = &*CASING;
            if in_ranges(&t.isupper_false, c) {
                return false;
            }
            cased |= in_ranges(&t.isupper_cased, c);
        }
    }
    cased
}

/// Appends Python `s.lower()` to `out`.
pub(crate) fn py_lower_into(s: &str, out: &mut String) {
    let t = &*CASING;
    for (i, c) in s.char_indices() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == '\u{3A3}' {
            out.push(if final_sigma(t, s, i) {
                '\u{3C2}'
            } else {
                '\u{3C3}'
            });
        } else if let Ok(k) = t.lower.binary_search_by_key(&(c as u32), |&(cp, _)| cp) {
            out.push_str(&t.lower[k].1);
        } else {
            out.push(c);
        }
    }
}

/// CPython's Final_Sigma test for the capital sigma at byte `i` of `s`: skipping
/// case-ignorable characters, a cased character precedes it and none follows it.
fn final_sigma(t: &Casing, s: &str, i: usize) -> bool {
    let before = s[..i]
        .chars()
        .rev()
        .find(|&c| !in_ranges(&t.case_ignorable, c));
    if !before.is_some_and(|c| in_ranges(&t.cased, c)) {
        return false;
    }
    let after = s[i + '\u{3A3}'.len_utf8()..]
        .chars()
        .find(|&c| !in_ranges(&t.case_ignorable, c));
    !after.is_some_and(|c| in_ranges(&t.cased, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(s: &str) -> String {
        let mut out = String::new();
        py_lower_into(s, &mut out);
        out
    }

    #[test]
    fn space_class_is_pythons() {
        for c in [
            ' ', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}',
        ] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in [
            '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{200a}', '\u{2028}', '\u{2029}',
        ] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in ['\u{202f}', '\u{205f}', '\u{3000}'] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in [
            'a', '!', '\u{0}', '\u{1b}', '\u{180e}', '\u{200b}', '\u{feff}', '\u{7f}',
        ] {
            assert!(!is_py_space(c), "{c:?}");
        }
    }

    #[test]
    fn isupper_follows_python() {
        assert!(py_isupper("GOOD"));
        assert!(py_isupper("GOOD!"));
        assert!(py_isupper("A1"));
        assert!(!py_isupper("Good"));
        assert!(!py_isupper("123"));
        assert!(!py_isupper(":)"));
        assert!(!py_isupper(""));
        assert!(py_isupper("ÉTÉ"));
        assert!(!py_isupper("ÉtÉ"));
        assert!(py_isupper("ΣΑΣ"));
        // Titlecase digraph U+01C5 makes isupper() false; U+01C4 is uppercase.
        assert!(!py_isupper("\u{1c5}"));
        assert!(py_isupper("\u{1c4}"));
        // Superscript/modifier letters: ª (Lo, lowercase property) makes it false.
        assert!(!py_isupper("Aª"));
    }

    #[test]
    fn lower_follows_python() {
        assert_eq!(lower("GOOD"), "good");
        assert_eq!(lower("ÉTÉ"), "été");
        assert_eq!(lower("\u{130}"), "i\u{307}");
        // Kelvin sign lowercases to ASCII k.
        assert_eq!(lower("O\u{212a}"), "ok");
        // Final sigma: at the end of a word, not alone, not before a letter.
        assert_eq!(lower("ΣΑΣ"), "σας");
        assert_eq!(lower("Σ"), "σ");
        assert_eq!(lower("ΑΣ."), "ας.");
        assert_eq!(lower("ΑΣ'Α"), "ασ'α");
    }
}

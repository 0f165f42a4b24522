//! The one escaping function for text a guest controls and a person reads: CLI messages, trace
//! lines, prompts and audit records all pass guest strings (names, paths, messages) through
//! [`escape`], so no guest can write a control sequence or an invisible character to the
//! user's terminal or into a log. This module only transforms text; it prints nothing.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes `text` so that it is safe to show on a terminal, on one line, inside double quotes.
///
/// Escaped (everything else, ordinary non-ASCII text such as `é`, `漢字` and emoji included,
/// is kept as is):
///
/// - `\` becomes `\\` and `"` becomes `\"`, so escaped text can sit between quotes and every
///   backslash in the result starts an escape;
/// - newline, carriage return and tab become `\n`, `\r`, `\t`; every other C0 control and DEL
///   become `\xHH` (`\x1b`, `\x07`, `\x7f`);
/// - C1 controls (U+0080–U+009F, including the one-character CSI U+009B) and the invisible or
///   direction-changing characters become `\u{HEX}` (lowercase hex, no padding: `\u{202e}`):
///   soft hyphen U+00AD, combining grapheme joiner U+034F, Arabic letter mark U+061C, the
///   Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), U+17B4–U+17B5, Mongolian vowel
///   separator U+180E, zero-width characters and marks U+200B–U+200F, line and paragraph
///   separators U+2028–U+2029, bidi embeddings and overrides U+202A–U+202E, word joiner,
///   invisible operators, bidi isolates and the deprecated format controls U+2060–U+206F, the
///   byte-order mark U+FEFF, U+FFF0–U+FFFB (interlinear annotations), the shorthand and
///   musical format controls (U+1BCA0–U+1BCA3, U+1D173–U+1D17A), and the tag characters and
///   the rest of plane 14's ignorables (U+E0000–U+E0FFF).
///
/// Variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF, U+180B–U+180D, U+180F) are kept: they
/// only pick a glyph of the character before them (emoji presentation), and escaping them would
/// mangle ordinary text.
///
/// The form is unambiguous: each escape is self-delimiting (`\xHH` has exactly two digits,
/// `\u{…}` is braced) and a literal backslash is always doubled, so different inputs give
/// different outputs and the original can be read back. It is not idempotent (escaping twice
/// doubles the backslashes again): escape once, where the text is printed.
///
/// Borrows when nothing needs escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether [`escape`] rewrites `c`: the quoting characters, the controls, and the invisible or
/// direction-changing characters its doc lists (Unicode's default-ignorable code points, less
/// the variation selectors, plus the line/paragraph separators and interlinear annotations).
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\\' | '"'
        // C0, DEL, C1.
        | '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
        | '\u{3164}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}'
        | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        // Plane 14: tags and unassigned ignorables, but not the variation selectors.
        | '\u{e0000}'..='\u{e00ff}' | '\u{e01f0}'..='\u{e0fff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads escaped text back (the inverse of [`escape`]), or `None` if it is not in the
    /// escaped form.
    fn unescape(text: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next()? {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    let byte = u8::from_str_radix(&hex, 16).ok()?;
                    (hex.len() == 2 && byte < 0x80).then_some(())?;
                    out.push(char::from(byte));
                }
                'u' => {
                    (chars.next()? == '{').then_some(())?;
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// Whether a character may appear raw in escaped text.
    fn shown_raw(c: char) -> bool {
        !(c.is_control()
            || matches!(c as u32,
                0xad | 0x34f | 0x61c | 0x115f | 0x1160 | 0x17b4 | 0x17b5 | 0x180e
                | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0x3164 | 0xfeff
                | 0xffa0 | 0xfff0..=0xfffb | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
                | 0xe0000..=0xe00ff | 0xe01f0..=0xe0fff))
    }

    #[test]
    fn plain_and_ordinary_non_ascii_text_is_unchanged_and_borrowed() {
        for text in [
            "",
            "/data/out.txt",
            "a b: c (d) [e] {f} `g` 'h' ~!@#$%^&*()_+-=<>?,./;:|",
            "caf\u{e9} na\u{ef}ve \u{6f22}\u{5b57} \u{1f980} \u{1f600}",
            "\u{5d0}\u{5d1}\u{5d2} \u{627}\u{644}\u{639}\u{631}\u{628}\u{64a}\u{629} \u{3b1}\u{3b2}",
            // A variation selector (emoji presentation) only picks a glyph.
            "\u{2764}\u{fe0f}",
            "non\u{a0}breaking space, \u{fffd} replacement",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn backslash_and_quote_are_escaped() {
        assert_eq!(escape(r"a\b"), r"a\\b");
        assert_eq!(escape(r#"say "hi""#), r#"say \"hi\""#);
        // The text of an escape is not an escape: the backslash doubles.
        assert_eq!(escape(r"\x1b"), r"\\x1b");
        assert_eq!(escape("\u{1b}"), r"\x1b");
        assert_eq!(escape(r"\u{202e}"), r"\\u{202e}");
    }

    #[test]
    fn c0_controls_and_del_are_escaped() {
        assert_eq!(escape("a\nb\rc\td"), r"a\nb\rc\td");
        assert_eq!(
            escape("\u{0}\u{1}\u{7}\u{8}\u{b}\u{c}"),
            r"\x00\x01\x07\x08\x0b\x0c"
        );
        assert_eq!(
            escape("\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m"),
            r"\x1b]0;pwned\x07\x1b[2J\x1b[31m"
        );
        assert_eq!(escape("\u{1f}\u{7f}"), r"\x1f\x7f");
        for c in (0u8..0x20).chain([0x7f]).map(char::from) {
            assert!(
                !escape(&c.to_string()).chars().any(char::is_control),
                "{c:?}"
            );
        }
    }

    #[test]
    fn c1_controls_are_escaped() {
        assert_eq!(
            escape("\u{80}\u{85}\u{9b}2J\u{9d}\u{9f}"),
            r"\u{80}\u{85}\u{9b}2J\u{9d}\u{9f}"
        );
    }

    #[test]
    fn zero_width_and_other_invisible_characters_are_escaped() {
        assert_eq!(
            escape("a\u{200b}b\u{200c}c\u{200d}d\u{200e}e\u{200f}f"),
            r"a\u{200b}b\u{200c}c\u{200d}d\u{200e}e\u{200f}f"
        );
        assert_eq!(
            escape("\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}\u{feff}"),
            r"\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}\u{feff}"
        );
        assert_eq!(
            escape("soft\u{ad}hyphen\u{34f}\u{180e}\u{115f}\u{1160}\u{3164}\u{ffa0}"),
            r"soft\u{ad}hyphen\u{34f}\u{180e}\u{115f}\u{1160}\u{3164}\u{ffa0}"
        );
        assert_eq!(
            escape("\u{fff9}\u{fffb}\u{1d173}\u{1bca0}"),
            r"\u{fff9}\u{fffb}\u{1d173}\u{1bca0}"
        );
    }

    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(
            escape("\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}"),
            r"\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}"
        );
        assert_eq!(
            escape("\u{2066}\u{2067}\u{2068}\u{2069}\u{61c}"),
            r"\u{2066}\u{2067}\u{2068}\u{2069}\u{61c}"
        );
        assert_eq!(escape("/tmp/\u{202e}txt.exe"), r"/tmp/\u{202e}txt.exe");
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        assert_eq!(escape("a\u{2028}b\u{2029}c"), r"a\u{2028}b\u{2029}c");
    }

    #[test]
    fn tag_characters_are_escaped() {
        assert_eq!(
            escape("\u{e0001}\u{e0041}\u{e007f}"),
            r"\u{e0001}\u{e0041}\u{e007f}"
        );
        // A flag emoji's tag sequence shows as its base and escapes.
        assert_eq!(
            escape("\u{1f3f4}\u{e0067}\u{e0062}\u{e007f}"),
            "\u{1f3f4}\\u{e0067}\\u{e0062}\\u{e007f}"
        );
        assert_eq!(escape("\u{e0080}\u{e0fff}"), r"\u{e0080}\u{e0fff}");
        // Plane 14's variation selectors are not tags.
        assert_eq!(escape("\u{845b}\u{e0100}"), "\u{845b}\u{e0100}");
    }

    #[test]
    fn every_code_point_is_shown_raw_or_escaped_and_reads_back() {
        let mut all = String::new();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let one = c.to_string();
            let shown = escape(&one);
            assert!(shown.chars().all(shown_raw), "{c:?} -> {shown:?}");
            assert_eq!(shown == one, shown_raw(c) && c != '\\' && c != '"', "{c:?}");
            assert_eq!(unescape(&shown).as_deref(), Some(one.as_str()), "{c:?}");
            all.push(c);
        }
        let shown = escape(&all);
        assert!(shown.chars().all(shown_raw));
        assert_eq!(unescape(&shown), Some(all));
    }

    #[test]
    fn different_texts_never_escape_alike() {
        // Texts that look like escapes, next to the characters they name.
        let texts = [
            "\u{1b}",
            r"\x1b",
            r"\\x1b",
            "\\\u{1b}",
            "\n",
            r"\n",
            "\\\n",
            "\u{202e}",
            r"\u{202e}",
            "\\\u{202e}",
            "\"",
            r#"\""#,
            "\\",
            r"\\",
            "x1b",
            "u{202e}",
        ];
        let shown: Vec<String> = texts.iter().map(|t| escape(t).into_owned()).collect();
        for (i, a) in shown.iter().enumerate() {
            for (j, b) in shown.iter().enumerate() {
                assert!(
                    i == j || a != b,
                    "{:?} and {:?} both show as {a:?}",
                    texts[i],
                    texts[j]
                );
            }
            assert_eq!(unescape(a).as_deref(), Some(texts[i]));
        }
    }
}

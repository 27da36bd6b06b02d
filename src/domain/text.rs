//! Discord's limits on text, and the checks every user-given text passes before it is stored
//! or echoed.

use crate::error::UserError;

/// Characters in a message's `content` that a bot may send.
pub const MESSAGE_CONTENT: usize = 2000;
/// Characters in an embed's description.
pub const EMBED_DESCRIPTION: usize = 4096;
/// Characters in an embed's title.
pub const EMBED_TITLE: usize = 256;
/// Characters in an embed field's value.
pub const EMBED_FIELD_VALUE: usize = 1024;
/// Characters across all of an embed's text.
pub const EMBED_TOTAL: usize = 6000;
/// Characters in an autocomplete choice's name.
pub const CHOICE_NAME: usize = 100;
/// Choices an autocomplete answer may carry.
pub const CHOICES: usize = 25;
/// Characters in a thread's name.
pub const THREAD_NAME: usize = 100;

/// Trims `text` and checks it is non-empty, on one line, and at most `max` characters.
pub fn one_line(field: &'static str, text: &str, max: usize) -> Result<String, UserError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(UserError::Empty { field });
    }
    if trimmed.contains(['\n', '\r']) {
        return Err(UserError::MultiLine { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(UserError::TooLong { field, len, max });
    }
    Ok(trimmed.to_owned())
}

/// Trims `text` and checks it is non-empty and at most `max` characters; line breaks are kept.
pub fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, UserError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(UserError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(UserError::TooLong { field, len, max });
    }
    Ok(trimmed.to_owned())
}

/// Shortens `text` to at most `max` characters, marking the cut with an ellipsis. For labels
/// that point at something stored in full (autocomplete names), never for what a user saved.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Joins `items` with `sep` into at most `max` characters. What does not fit is counted
/// instead of cut silently: `A, B … and 12 more`, followed by `; {see}` when `see` (where to
/// find the rest) is not empty.
pub fn join_within(items: &[impl AsRef<str>], sep: &str, max: usize, see: &str) -> String {
    let mut out = String::new();
    let mut used = 0;
    for (index, item) in items.iter().enumerate() {
        let item = item.as_ref();
        let left = items.len() - index;
        let tail = if see.is_empty() {
            format!("… and {left} more")
        } else {
            format!("… and {left} more; {see}")
        };
        let sep_len = if index == 0 { 0 } else { sep.chars().count() };
        let item_len = item.chars().count();
        // The item fits if, after it, there is still room to say how many more follow.
        let after = if left == 1 {
            0
        } else {
            1 + tail.chars().count()
        };
        if used + sep_len + item_len + after > max {
            if index > 0 {
                out.push(' ');
            }
            out.push_str(&tail);
            return clip(&out, max);
        }
        if index > 0 {
            out.push_str(sep);
        }
        out.push_str(item);
        used += sep_len + item_len;
    }
    out
}

/// `1 step`, `3 steps`: a count (of any integer type) with its noun.
pub fn plural<N: std::fmt::Display + PartialEq + From<u8>>(n: N, one: &str) -> String {
    if n == N::from(1) {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A moment as the school reads it: `Mon 23 Nov 14:05`.
pub fn local_time(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

/// A date as people read it: `Fri 5 Dec 2026`.
pub fn day(date: chrono::NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

/// A name fit for a file: lowercase letters, digits and single dashes (`lincoln-elementary`).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "export".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `n` with its thousands grouped: 1,000; 12,345,678.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn trims_and_accepts_text_within_the_limit() {
        assert_eq!(
            one_line("name", "  Lincoln  ", 10),
            Ok("Lincoln".to_owned())
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(one_line("name", &"é".repeat(10), 10).is_ok());
        assert_eq!(
            one_line("name", &"é".repeat(11), 10),
            Err(UserError::TooLong {
                field: "name",
                len: 11,
                max: 10
            })
        );
    }

    #[test]
    fn refuses_empty_and_multi_line_text() {
        assert_eq!(
            one_line("name", "   ", 10),
            Err(UserError::Empty { field: "name" })
        );
        assert_eq!(
            one_line("name", "a\nb", 10),
            Err(UserError::MultiLine { field: "name" })
        );
    }

    #[test]
    fn join_within_counts_what_does_not_fit() {
        let names: Vec<String> = (0..30)
            .map(|i| format!("{i:02}{}", "x".repeat(88)))
            .collect();
        let joined = join_within(&names, ", ", 1000, "start typing in the `school` box");
        assert!(joined.chars().count() <= 1000, "{joined}");
        assert!(joined.starts_with("00x"), "{joined}");
        let shown = joined.matches(", ").count() + 1;
        assert!(
            joined.ends_with(&format!(
                "… and {} more; start typing in the `school` box",
                30 - shown
            )),
            "{joined}"
        );
        assert_eq!(join_within(&["a", "b"], ", ", 100, "see"), "a, b");
        assert_eq!(join_within(&[] as &[&str], ", ", 100, "see"), "");
        assert!(
            join_within(&["x".repeat(500)], ", ", 100, "")
                .chars()
                .count()
                <= 100
        );
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}

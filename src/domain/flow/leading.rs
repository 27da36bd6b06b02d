//! Leading questions: a question that tells the person what the answer should be (that the
//! work is moving, that something is in the way). `prompts check` warns on them, with an
//! open way to ask instead.

/// A leading question: one that tells the person what the answer should be. Matched on the
/// words of one sentence (lower case, curly apostrophes made straight).
pub(super) struct Leading {
    /// Phrases that, each found after the one before, make the sentence leading.
    phrases: &'static [&'static str],
    /// A phrase that opens the question again (e.g. "if anything").
    unless: Option<&'static str>,
    /// What the question takes for granted, for the warning.
    pub(super) assumes: &'static str,
    /// An open way to ask it instead.
    pub(super) instead: &'static str,
}

/// The leading questions `prompts check` warns about: a small list, kept to the patterns
/// coaches asked to catch. Questions that assume progress ("How is … moving forward?"), that
/// assume a barrier ("What is getting in the way?" without "if anything"), or that hand the
/// person the answer ("Don't you think …?").
const LEADING: [Leading; 7] = [
    Leading {
        phrases: &["how", "moving", "forward"],
        unless: None,
        assumes: "that it is moving forward",
        instead: "What has happened with it since we last talked?",
    },
    Leading {
        phrases: &["how", "going well"],
        unless: None,
        assumes: "that it is going well",
        instead: "What has happened with it since we last talked?",
    },
    Leading {
        phrases: &["how", "improved"],
        unless: None,
        assumes: "that it has improved",
        instead: "What, if anything, has changed since we last talked?",
    },
    Leading {
        phrases: &["how much progress"],
        unless: None,
        assumes: "that there has been progress",
        instead: "What, if anything, has moved since we last talked?",
    },
    Leading {
        phrases: &["in the way"],
        unless: Some("if anything"),
        assumes: "that something is in the way",
        instead: "What, if anything, is getting in the way?",
    },
    Leading {
        phrases: &["holding", "back"],
        unless: Some("if anything"),
        assumes: "that something is holding them back",
        instead: "What, if anything, is holding this back?",
    },
    Leading {
        phrases: &["don't you think"],
        unless: None,
        assumes: "the answer it wants",
        instead: "What do you make of it?",
    },
];

/// The words of a sentence, lower case, with curly apostrophes made straight.
fn words(sentence: &str) -> Vec<String> {
    sentence
        .to_lowercase()
        .replace('\u{2019}', "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where `phrase` first occurs in `words` at or after `from`, as whole words: the index just
/// after it.
fn find_phrase(words: &[String], phrase: &str, from: usize) -> Option<usize> {
    let wanted: Vec<&str> = phrase.split(' ').collect();
    (from..=words.len().saturating_sub(wanted.len()))
        .find(|&i| {
            words
                .get(i..i + wanted.len())
                .is_some_and(|w| w.iter().zip(&wanted).all(|(a, b)| a == b))
        })
        .map(|i| i + wanted.len())
}

/// The leading pattern a question sentence matches, if any.
pub(super) fn find(sentence: &str) -> Option<&'static Leading> {
    let words = words(sentence);
    LEADING.iter().find(|pattern| {
        let mut from = 0;
        let all = pattern.phrases.iter().all(|phrase| {
            find_phrase(&words, phrase, from).is_some_and(|end| {
                from = end;
                true
            })
        });
        all && pattern
            .unless
            .is_none_or(|open| find_phrase(&words, open, 0).is_none())
    })
}

//! A message as the bot will send it (text and embeds), and the packing of long reports into
//! as many messages as Discord's limits need: never truncated silently.

use serde::{Deserialize, Serialize};

use super::text::{EMBED_DESCRIPTION, EMBED_TITLE, EMBED_TOTAL, MESSAGE_CONTENT, clip};

/// Embeds one message may carry.
pub const EMBEDS_PER_MESSAGE: usize = 10;

/// An embed: a title and a description, in coachbot's own terms (the Discord layer renders it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embed {
    pub title: String,
    pub description: String,
    /// A line under the description (e.g. what was withheld and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// The name of an attached image to show in the embed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Embed {
    /// Characters Discord counts against the 6,000 a message's embeds may hold together.
    pub fn chars(&self) -> usize {
        self.title.chars().count()
            + self.description.chars().count()
            + self.footer.as_deref().map_or(0, |f| f.chars().count())
    }
}

/// One Discord message: text and embeds, within Discord's limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    pub content: String,
    #[serde(default)]
    pub embeds: Vec<Embed>,
    /// Rows of buttons under the message (at most 5 rows of 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<Button>>,
}

impl MessageBody {
    /// Whether Discord would accept this message's text as it is.
    pub fn within_limits(&self) -> bool {
        self.content.chars().count() <= MESSAGE_CONTENT
            && self.embeds.len() <= EMBEDS_PER_MESSAGE
            && self.embeds.iter().map(Embed::chars).sum::<usize>() <= EMBED_TOTAL
            && self.embeds.iter().all(|e| {
                e.title.chars().count() <= EMBED_TITLE
                    && e.description.chars().count() <= EMBED_DESCRIPTION
            })
    }
}

/// How a button looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ButtonStyle {
    /// The choice the message is about (Confirm, Save).
    Success,
    /// Every other choice.
    Secondary,
}

/// A button under a message: what it says and the id its click comes back with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub label: String,
    pub style: ButtonStyle,
}

impl Button {
    pub fn new(id: impl Into<String>, label: impl Into<String>, style: ButtonStyle) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            style,
        }
    }
}

/// A message of the check-in conversation: text (within Discord's 2,000 characters) and rows
/// of buttons under it. The engine says what to send; the Discord layer renders it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub text: String,
    #[serde(default)]
    pub buttons: Vec<Vec<Button>>,
}

impl Prompt {
    /// A prompt of text alone, clipped to what one message holds.
    pub fn text(text: &str) -> Self {
        Self {
            text: clip(text, MESSAGE_CONTENT),
            buttons: Vec::new(),
        }
    }

    /// The same prompt with these rows of buttons under it (at most 5 rows of 5 show).
    #[must_use]
    pub fn with_rows(mut self, rows: Vec<Vec<Button>>) -> Self {
        self.buttons = rows.into_iter().filter(|r| !r.is_empty()).take(5).collect();
        self
    }

    /// The same prompt with `buttons` under it, `per_row` to a row.
    #[must_use]
    pub fn with_buttons(mut self, buttons: Vec<Button>, per_row: usize) -> Self {
        self.buttons = buttons
            .chunks(per_row.max(1))
            .map(<[Button]>::to_vec)
            .collect();
        self
    }
}

/// A form (Discord's modal): a title and up to five inputs, whose ids come back with the
/// person's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    pub id: String,
    pub title: String,
    pub inputs: Vec<FormInput>,
}

/// One paragraph input of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormInput {
    pub id: String,
    pub label: String,
    pub placeholder: String,
    pub max_length: usize,
}

/// A titled section of a report, made of lines that are never cut in the middle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub lines: Vec<String>,
}

/// How much of the 6,000 one message's embeds hold that the packer leaves free (content does
/// not count against it, but this keeps room for a footer).
const TOTAL_BUDGET: usize = EMBED_TOTAL - 200;
/// Longest description the packer writes (leaves room for a "continued" line).
const DESCRIPTION_BUDGET: usize = EMBED_DESCRIPTION - 96;

/// Lays `sections` out as embeds (one or more per section: a long section continues in the
/// next embed under the same title) and packs the embeds into messages of at most ten embeds
/// and 6,000 characters. `header(i, n)` gives the text of message `i` of `n`.
pub fn pack(sections: &[Section], header: impl Fn(usize, usize) -> String) -> Vec<MessageBody> {
    let mut embeds = Vec::new();
    for section in sections {
        let title = clip(&section.title, EMBED_TITLE - 12);
        let mut description = String::new();
        let mut continued = false;
        for line in &section.lines {
            let line = clip(line, DESCRIPTION_BUDGET / 2);
            let needed = line.chars().count() + 1;
            if !description.is_empty()
                && description.chars().count() + needed > DESCRIPTION_BUDGET.min(TOTAL_BUDGET / 2)
            {
                embeds.push(embed(&title, continued, std::mem::take(&mut description)));
                continued = true;
            }
            if !description.is_empty() {
                description.push('\n');
            }
            description.push_str(&line);
        }
        embeds.push(embed(&title, continued, description));
    }
    let mut messages: Vec<Vec<Embed>> = Vec::new();
    let mut current: Vec<Embed> = Vec::new();
    let mut chars = 0;
    for embed in embeds {
        if !current.is_empty()
            && (current.len() == EMBEDS_PER_MESSAGE || chars + embed.chars() > TOTAL_BUDGET)
        {
            messages.push(std::mem::take(&mut current));
            chars = 0;
        }
        chars += embed.chars();
        current.push(embed);
    }
    if !current.is_empty() || messages.is_empty() {
        messages.push(current);
    }
    let count = messages.len();
    messages
        .into_iter()
        .enumerate()
        .map(|(i, embeds)| MessageBody {
            content: clip(&header(i + 1, count), MESSAGE_CONTENT),
            embeds,
            buttons: Vec::new(),
        })
        .collect()
}

fn embed(title: &str, continued: bool, description: String) -> Embed {
    Embed {
        title: if continued {
            format!("{title} (continued)")
        } else {
            title.to_owned()
        },
        description,
        footer: None,
        image: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(title: &str, lines: usize, width: usize) -> Section {
        Section {
            title: title.to_owned(),
            lines: (0..lines)
                .map(|i| format!("{i:>4} {}", "x".repeat(width)))
                .collect(),
        }
    }

    #[test]
    fn a_short_report_is_one_message() {
        let messages = pack(&[section("Lincoln", 3, 20)], |i, n| format!("{i}/{n}"));
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].content, "1/1");
        assert_eq!(messages[0].embeds[0].description.lines().count(), 3);
    }

    #[test]
    fn a_long_report_splits_within_every_limit_and_keeps_every_line() {
        let sections: Vec<Section> = (0..200)
            .map(|i| section(&format!("School {i}"), 1 + i % 40, 60 + i % 90))
            .collect();
        let messages = pack(&sections, |i, n| format!("Digest, part {i} of {n}"));
        assert!(messages.len() > 1);
        for message in &messages {
            assert!(message.within_limits(), "{message:?}");
        }
        let written: usize = messages
            .iter()
            .flat_map(|m| &m.embeds)
            .map(|e| e.description.lines().count())
            .sum();
        let given: usize = sections.iter().map(|s| s.lines.len()).sum();
        assert_eq!(written, given, "no line is dropped");
        assert_eq!(
            messages.last().map(|m| m.content.as_str()),
            Some(format!("Digest, part {0} of {0}", messages.len()).as_str())
        );
    }

    #[test]
    fn nothing_at_all_is_still_one_message() {
        let messages = pack(&[], |_, _| "Nothing needs you today.".to_owned());
        assert_eq!(messages.len(), 1);
        assert!(messages[0].embeds.is_empty());
    }
}

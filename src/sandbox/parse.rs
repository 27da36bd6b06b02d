//! What a person types at the sandbox prompt.

/// One line at the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Nothing,
    Help,
    People,
    /// `as pat`
    As(String),
    /// `in #general`
    In(String),
    /// `/setup school name:"Lincoln Elementary" time_zone:America/Chicago`
    Slash {
        invocation: String,
        options: Vec<(String, String)>,
    },
    /// `dm some text`
    Dm(String),
    /// `click custom_id`
    Click(String),
    /// `form field:"value" …`: fills in and sends the form the bot opened last
    Form(Vec<(String, String)>),
    /// `clock` (show the sandbox's time) or `clock +3d` (move it on)
    Clock(Option<String>),
    /// `memory`: what the sandbox holds in memory, and its database on disk
    Memory,
    Quit,
}

pub fn parse(line: &str) -> Result<Line, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("//") {
        return Ok(Line::Nothing);
    }
    if let Some(rest) = line.strip_prefix('/') {
        return slash(rest);
    }
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let need = |what: &str| -> Result<String, String> {
        if rest.is_empty() {
            Err(format!("`{word}` needs {what}"))
        } else {
            Ok(rest.to_owned())
        }
    };
    match word.to_lowercase().as_str() {
        "help" | "?" => Ok(Line::Help),
        "people" | "who" => Ok(Line::People),
        "as" => need("a person, e.g. `as pat`").map(Line::As),
        "in" => need("a channel, e.g. `in #general`").map(Line::In),
        "dm" => need("the message text, e.g. `dm hello`").map(Line::Dm),
        "click" => need("a button id, e.g. `click confirm`").map(Line::Click),
        "form" => {
            let fields = options(&need("the answers, e.g. `form barrier:\"no cover\"`")?)?;
            Ok(Line::Form(fields))
        }
        "quit" | "exit" => Ok(Line::Quit),
        "memory" => Ok(Line::Memory),
        "clock" => Ok(Line::Clock((!rest.is_empty()).then(|| rest.to_owned()))),
        other => Err(format!("`{other}` is not something I know; type `help`")),
    }
}

/// `key:value` pairs only.
fn options(text: &str) -> Result<Vec<(String, String)>, String> {
    tokenize(text)?
        .into_iter()
        .map(|token| match token.split_once(':') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => Err(format!(
                "`{token}` should be field:value (put quotes around text with spaces)"
            )),
        })
        .collect()
}

fn slash(rest: &str) -> Result<Line, String> {
    let tokens = tokenize(rest)?;
    let mut words = Vec::new();
    let mut options = Vec::new();
    for token in tokens {
        match token.split_once(':') {
            Some((key, value)) if !key.is_empty() => {
                options.push((key.to_owned(), value.to_owned()));
            }
            None if options.is_empty() => words.push(token),
            _ => {
                return Err(format!(
                    "`{token}` should be option:value (put quotes around text with spaces)"
                ));
            }
        }
    }
    if words.is_empty() {
        return Err("type a command after `/`, e.g. `/help`".into());
    }
    Ok(Line::Slash {
        invocation: words.join(" "),
        options,
    })
}

/// Splits on spaces, keeping "quoted text" (also after `key:`) together.
fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut started = false;
    for ch in text.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    tokens.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if started {
        tokens.push(current);
    }
    Ok(tokens)
}

/// `+3d`, `+2h`, `+30m` (or without the plus): how far to move the sandbox's clock.
pub fn clock_step(text: &str) -> Result<chrono::TimeDelta, String> {
    let text = text.trim().trim_start_matches('+');
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` should look like +3d, +2h or +30m"))?;
    match unit {
        "d" => Ok(chrono::TimeDelta::days(n)),
        "h" => Ok(chrono::TimeDelta::hours(n)),
        "m" => Ok(chrono::TimeDelta::minutes(n)),
        _ => Err(format!("`{text}` should look like +3d, +2h or +30m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_slash_command_with_quoted_options() {
        let line = parse(r#"/setup school name:"Lincoln Elementary" time_zone:America/Chicago"#);
        assert_eq!(
            line,
            Ok(Line::Slash {
                invocation: "setup school".into(),
                options: vec![
                    ("name".into(), "Lincoln Elementary".into()),
                    ("time_zone".into(), "America/Chicago".into()),
                ],
            })
        );
    }

    #[test]
    fn parses_people_and_messages() {
        assert_eq!(parse("as pat"), Ok(Line::As("pat".into())));
        assert_eq!(parse("memory"), Ok(Line::Memory));
        assert_eq!(
            parse("dm it went well"),
            Ok(Line::Dm("it went well".into()))
        );
        assert_eq!(parse("  "), Ok(Line::Nothing));
        assert!(parse("as").is_err());
        assert!(parse("dance").is_err());
        assert_eq!(parse("clock +3d"), Ok(Line::Clock(Some("+3d".into()))));
        assert_eq!(clock_step("+3d"), Ok(chrono::TimeDelta::days(3)));
        assert_eq!(clock_step("90m"), Ok(chrono::TimeDelta::minutes(90)));
        assert!(clock_step("+soon").is_err());
        assert_eq!(
            parse(r#"form barrier:"no cover""#),
            Ok(Line::Form(vec![("barrier".into(), "no cover".into())]))
        );
        assert!(parse(r#"/setup school name:"open"#).is_err());
    }
}

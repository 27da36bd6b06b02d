//! The data files in `prompts/`: read at start-up and validated before the bot connects.
//! `COACHBOT_PROMPTS` names another folder; without the folder the shipped copies are used.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::domain::framework::Framework;

/// The framework file as shipped with this build.
const SHIPPED_FRAMEWORK: &str = include_str!("../prompts/framework.toml");

/// Where the prompt files are read from.
pub fn dir() -> PathBuf {
    std::env::var_os("COACHBOT_PROMPTS").map_or_else(|| PathBuf::from("prompts"), PathBuf::from)
}

/// The default framework: `prompts/framework.toml`, validated.
pub fn default_framework() -> anyhow::Result<Framework> {
    let path = dir().join("framework.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "no framework file there; using the shipped one");
            SHIPPED_FRAMEWORK.to_owned()
        }
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    Framework::parse(&text).with_context(|| format!("checking {}", path.display()))
}

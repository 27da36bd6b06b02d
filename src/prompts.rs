//! The data files in `prompts/`: the framework and the check-in flows, read at start-up and
//! checked before the bot connects. `COACHBOT_PROMPTS` names another folder; without the
//! folder the copies shipped with this build are used.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::domain::flow::{self, Report};
use crate::domain::framework::Framework;

/// The framework file as shipped with this build.
const SHIPPED_FRAMEWORK: &str = include_str!("../prompts/framework.toml");

/// The check-in flows as shipped with this build.
const SHIPPED_FLOWS: [(&str, &str); 5] = [
    (
        "checkins/weekly.toml",
        include_str!("../prompts/checkins/weekly.toml"),
    ),
    (
        "checkins/barrier-deep-dive.toml",
        include_str!("../prompts/checkins/barrier-deep-dive.toml"),
    ),
    (
        "checkins/monthly-reflection.toml",
        include_str!("../prompts/checkins/monthly-reflection.toml"),
    ),
    (
        "checkins/wellbeing.toml",
        include_str!("../prompts/checkins/wellbeing.toml"),
    ),
    (
        "checkins/step-followup.toml",
        include_str!("../prompts/checkins/step-followup.toml"),
    ),
];

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

/// Reads the flow files under `prompts/checkins` (or the shipped ones without the folder).
fn flow_files(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let folder = root.join("checkins");
    if !folder.is_dir() {
        tracing::info!(path = %folder.display(), "no check-in flows there; using the shipped ones");
        return Ok(SHIPPED_FLOWS
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// The check-in flows, checked: errors stop start-up, warnings are logged.
pub fn flows() -> anyhow::Result<Vec<flow::Flow>> {
    let report = flow::check(&flow_files(&dir())?);
    for warning in &report.warnings {
        tracing::warn!(%warning, "check-in flow");
    }
    if !report.errors.is_empty() {
        bail!(
            "the check-in flows have errors: {}",
            report.errors.join("; ")
        );
    }
    Ok(report.flows)
}

/// `coachbot prompts check [path]`: a prompts folder (framework and flows) or one flow file.
pub fn check_path(path: &Path) -> anyhow::Result<Report> {
    if path.is_file() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if path.file_name().is_some_and(|n| n == "framework.toml") {
            let mut report = Report::default();
            if let Err(errors) = Framework::parse(&text) {
                report.errors.extend(
                    errors
                        .0
                        .into_iter()
                        .map(|e| format!("{}: {e}", path.display())),
                );
            }
            return Ok(report);
        }
        return Ok(flow::check(&[(path.display().to_string(), text)]));
    }
    if !path.is_dir() {
        bail!("{} is neither a prompts folder nor a file", path.display());
    }
    let mut report = flow::check(&flow_files(path)?);
    let framework = path.join("framework.toml");
    if framework.is_file() {
        let text = std::fs::read_to_string(&framework)
            .with_context(|| format!("reading {}", framework.display()))?;
        if let Err(errors) = Framework::parse(&text) {
            report.errors.extend(
                errors
                    .0
                    .into_iter()
                    .map(|e| format!("{}: {e}", framework.display())),
            );
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_flows_are_clean() {
        let files: Vec<(String, String)> = SHIPPED_FLOWS
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        let report = flow::check(&files);
        assert_eq!(report.errors, Vec::<String>::new());
        assert_eq!(report.warnings, Vec::<String>::new());
        let ids: Vec<&str> = report.flows.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "weekly",
                "barrier_deep_dive",
                "monthly_reflection",
                "wellbeing",
                "step_followup"
            ]
        );
    }
}

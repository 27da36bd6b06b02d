//! The house's layers: no top-level module of `src/` imports one that imports it back, and
//! the lower rooms know nothing of poise or the Discord adapter. Read from the source, so a
//! new import that closes a circle fails here with the circle named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to: `src/outbox/deliver.rs` is `outbox`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules `text` names through `crate::`, including grouped imports such as
/// `use crate::{store, domain::text}`. Comments are skipped.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|part| {
                    part.trim()
                        .split("::")
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
                .collect()
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            vec![rest[..end].to_owned()]
        };
        found.extend(names.into_iter().filter(|n| modules.contains(n)));
    }
    found
}

/// Which top-level module imports which.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let entry = graph.entry(from.clone()).or_default();
        entry.extend(imports(&text, &modules).into_iter().filter(|m| *m != from));
    }
    graph
}

/// A circle through `start`, if there is one: the modules in order.
fn circle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                let mut circle = path.clone();
                circle.push(start.to_owned());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(
        graph.len() > 5,
        "the source was read: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle_from(&graph, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn only_the_adapter_and_the_process_reach_the_discord_layer_or_poise() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let may_name_discord = ["discord", "app", "process", "cli", "sandbox"];
    let may_use_poise = [
        "discord", "outbound", "emulator", "sandbox", "app", "process",
    ];
    let mut wrong = Vec::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        if !may_name_discord.contains(&module.as_str()) && text.contains("crate::discord") {
            wrong.push(format!("{} names crate::discord", file.display()));
        }
        if !may_use_poise.contains(&module.as_str()) && text.contains("poise") {
            wrong.push(format!("{} mentions poise", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_finds_grouped_imports_and_skips_comments() {
    let modules: BTreeSet<String> = ["store", "domain", "outbox"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let text = "use crate::{store::Db, domain};\n// crate::outbox is only mentioned\nlet x = crate::store::db_id(1);";
    let found = imports(text, &modules);
    assert_eq!(
        found,
        ["domain", "store"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
}

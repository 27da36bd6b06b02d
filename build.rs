//! Tells the test suites what they can test against. With `TEST_DATABASE_URL` set when they
//! are built, `cfg(pg_tests)` is on and the PostgreSQL runs run; without it they are reported
//! as ignored, with the reason, instead of passing empty. Without Discord's OpenAPI document
//! (`DISCORD_OPENAPI_SPEC`, or `../shared/discord-openapi.json`), the build says once that the
//! emulator will not check request bodies against it.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=DISCORD_OPENAPI_SPEC");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let spec = std::env::var_os("DISCORD_OPENAPI_SPEC")
        .filter(|path| !path.is_empty())
        .map_or_else(
            || manifest.join("../shared/discord-openapi.json"),
            PathBuf::from,
        );
    println!("cargo::rerun-if-changed={}", spec.display());
    if !spec.is_file() {
        println!(
            "cargo::warning=Discord's OpenAPI document is not at {}: the emulator will not check \
             requests against it (set DISCORD_OPENAPI_SPEC)",
            spec.display()
        );
    }
}

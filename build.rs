//! Tells the test suites whether PostgreSQL is there to test against: with
//! `TEST_DATABASE_URL` set when they are built, `cfg(pg_tests)` is on and the PostgreSQL runs
//! run; without it they are reported as ignored, with the reason, instead of passing empty.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}

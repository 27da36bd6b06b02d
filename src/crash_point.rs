//! Named places where the crash tests stop a real bot process. With
//! `COACHBOT_CRASH_POINT=<name>` set, the process that reaches that place logs it and stops
//! there, holding whatever it held (claims, leases, a sent but unrecorded message), until it
//! is killed. Unset, as in production, it does nothing.
//!
//! The places: `outbox-claimed` (rows leased, nothing sent), `prompt-sent` (Discord accepted
//! a check-in question, nothing recorded yet), `outbox-sent` (the question is recorded, the
//! outbox row is not yet marked sent).
//!
//! Only builds with the `crash-hook` feature have it (the tests enable it through the package's
//! dev-dependency on itself); in any other build [`reach`] is empty and the program does not
//! even hold the variable's name.

#[cfg(feature = "crash-hook")]
use std::sync::OnceLock;
#[cfg(feature = "crash-hook")]
use std::time::Duration;

/// The environment variable that names the crash point.
#[cfg(feature = "crash-hook")]
pub const VAR: &str = "COACHBOT_CRASH_POINT";

/// Without the `crash-hook` feature: nothing, compiled away.
#[cfg(not(feature = "crash-hook"))]
#[inline(always)]
pub fn reach(_name: &str) {}

/// Stops this thread for good if `name` is the configured crash point.
#[cfg(feature = "crash-hook")]
pub fn reach(name: &str) {
    static CONFIGURED: OnceLock<Option<String>> = OnceLock::new();
    let configured = CONFIGURED.get_or_init(|| std::env::var(VAR).ok());
    if configured.as_deref() != Some(name) {
        return;
    }
    tracing::error!(
        point = name,
        "reached crash point {name}: stopping here until killed"
    );
    // The whole process stops here, as it would in a crash: blocking this thread alone would
    // leave the others running (the scheduler could send what the crash was to leave unsent
    // before the test's SIGKILL arrives). SIGSTOP freezes every thread; SIGKILL still ends it.
    let stopped = std::process::Command::new("kill")
        .arg("-STOP")
        .arg(std::process::id().to_string())
        .status();
    if let Err(error) = stopped {
        tracing::error!(%error, "could not stop the process; this thread waits alone");
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

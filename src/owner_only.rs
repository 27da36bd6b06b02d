//! Files only their owner may read or write (mode 0600 on unix): the SQLite database and its
//! `-wal`/`-shm`, the files `coachbot export` writes, and the files the sandbox saves. What
//! they hold (check-in answers, names, plans) is nobody else's business on a shared machine.

use std::io::Write as _;
use std::path::Path;

/// Owner read and write, nothing for group or others.
#[cfg(unix)]
pub const MODE: u32 = 0o600;

/// Writes `bytes` to `path` (replacing what was there) in a file only its owner may read: a new
/// file is created 0600, and an existing one is narrowed to 0600 before anything is written.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, MODE);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    narrow(&file)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Creates `path` empty and owner-only if there is no file there; returns whether it did.
pub fn create_if_missing(path: &Path) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, MODE);
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    }
}

/// Takes group and other access away from an existing file; returns its old mode when it had
/// to (so the caller can say so), None when it was owner-only already or is not there.
pub fn tighten(path: &Path) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(Some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

#[cfg(unix)]
fn narrow(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("a file")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn new_and_replaced_files_are_owner_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh = dir.path().join("fresh.csv");
        write(&fresh, b"a,b\n").expect("written");
        assert_eq!(mode(&fresh), 0o600);
        let old = dir.path().join("old.csv");
        std::fs::write(&old, b"x").expect("written");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&old, b"y").expect("replaced");
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).expect("read"), b"y");
    }

    #[test]
    fn tighten_takes_group_and_other_access_away_and_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("coachbot.db");
        assert!(create_if_missing(&db).expect("created"));
        assert!(!create_if_missing(&db).expect("already there"));
        assert_eq!(mode(&db), 0o600);
        assert_eq!(tighten(&db).expect("checked"), None);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        assert_eq!(tighten(&db).expect("tightened"), Some(0o664));
        assert_eq!(mode(&db), 0o600);
        assert_eq!(tighten(&dir.path().join("absent")).expect("absent"), None);
    }
}

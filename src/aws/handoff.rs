//! Reads a plan-time check made moments ago in another provider process of the same engine run, handed to the same
//! check of the next plan.
//!
//! `apply` plans every resource twice: in the plan walk, and again in the apply walk right before applying it. The
//! engines start new provider processes for the apply walk, so without this the apply walk's plan repeats every
//! plan-time check (and the configure-time credential check) the plan walk made a moment earlier. A [`Handoff`]
//! lets the second plan take the first one's reads instead, under five conditions:
//! - **the same engine run**: both processes were started by the same engine process (parent process id); a saved
//!   plan applied later, or another command, reads again;
//! - **the same caller**: the same region, endpoints and credentials (a SHA-256 of them names the entry; neither
//!   the keys nor anything they could be recovered from is written);
//! - **moments ago**: the read is younger than [`FRESH`];
//! - **not written since**: a crossrepl write to the bucket, role or policy in this run ([`Handoff::touched`])
//!   drops the reads of it, so a resource applied between the two plans (a destination on the source's bucket, in a
//!   two-way setup) is read again;
//! - **nothing another resource could undo**: an answer that a bucket does not exist is not handed on (the caller
//!   says which answers last, see `AwsClients::handed_read`): another resource of the configuration may make the
//!   bucket between the walks. Other changes by other tools in between are seen at the next plan, as with any read
//!   made [`FRESH`] earlier; a role or policy made meanwhile with crossrepl's name still makes its create fail,
//!   never adopted.
//!
//! Entries are small JSON files in a directory only this user may use (`crossrepl-handoff-<uid>` in the system's
//! temporary directory, mode 0700), swept after a minute. Anything unexpected (another owner, a wider mode, an
//! unreadable file) turns the handoff off or misses: the read is then made, never wrong.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// How long a read is handed on: longer than the engines take from the plan walk's checks to the apply walk's
/// plan of an `apply -auto-approve` (well under a second), shorter than anyone takes to answer the prompt.
pub const FRESH: Duration = Duration::from_secs(5);

/// Entries older than this are deleted by the next process that writes one.
const SWEEP_AFTER: Duration = Duration::from_secs(60);

/// Where one provider process hands reads on and takes them over.
#[derive(Debug, Clone)]
pub struct Handoff {
    dir: PathBuf,
    /// The engine run: the parent process id.
    run: u32,
    /// The caller: a hash of region, endpoints and credentials.
    caller: String,
}

/// What a file holds: when the read was made, and what it returned.
#[derive(Serialize, serde::Deserialize)]
struct Entry<V> {
    at_ms: u64,
    value: V,
}

fn hex16(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Handoff {
    /// The handoff of this process for the caller `parts` names (region, endpoints, credentials), in the user's
    /// private directory; `None` where there is none to trust (not Unix, or the directory is not this user's alone).
    pub fn for_caller(parts: &[&[u8]]) -> Option<Self> {
        let (dir, run) = place(&std::env::temp_dir())?;
        Some(Self::in_dir(dir, run, parts))
    }

    /// The handoff in `dir` (which must exist) for engine run `run`.
    fn in_dir(dir: PathBuf, run: u32, parts: &[&[u8]]) -> Self {
        Self { dir, run, caller: hex16(parts) }
    }

    fn prefix(&self, resource: &str) -> String {
        format!("{}-{}-", self.run, hex16(&[resource.as_bytes()]))
    }

    fn path(&self, op: &str, resource: &str) -> PathBuf {
        let name = format!("{}{}.json", self.prefix(resource), hex16(&[op.as_bytes(), self.caller.as_bytes()]));
        self.dir.join(name)
    }

    /// What `op` on `resource` returned in this run, if younger than [`FRESH`], and its age.
    pub fn get<V: DeserializeOwned>(&self, op: &str, resource: &str) -> Option<(V, Duration)> {
        let text = fs::read(self.path(op, resource)).ok()?;
        let entry: Entry<V> = serde_json::from_slice(&text).ok()?;
        let age = Duration::from_millis(now_ms().checked_sub(entry.at_ms)?);
        (age < FRESH).then_some((entry.value, age))
    }

    /// Hands on `value`, what `op` on `resource` returned just now. Written whole or not at all (a temporary file
    /// renamed over the entry); a failure only costs the next plan a read.
    pub fn put<V: Serialize>(&self, op: &str, resource: &str, value: &V) {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| sweep(&self.dir));
        let entry = Entry { at_ms: now_ms(), value };
        let Ok(text) = serde_json::to_vec(&entry) else { return };
        let path = self.path(op, resource);
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let written =
            fs::File::create(&tmp).and_then(|mut f| f.write_all(&text)).and_then(|()| fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }

    /// Drops every read of `resource` (a bucket, role or policy) this run handed on, by any caller: crossrepl is
    /// about to change it.
    pub fn touched(&self, resource: &str) {
        let prefix = self.prefix(resource);
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Deletes entries older than [`SWEEP_AFTER`].
fn sweep(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|a| a > SWEEP_AFTER));
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Where this process hands reads on: `crossrepl-handoff-<uid>` in `base` ([`private_dir`]), and the engine run
/// it belongs to (the parent process: the engine starts every provider process itself).
#[cfg(unix)]
fn place(base: &Path) -> Option<(PathBuf, u32)> {
    Some((private_dir(base)?, std::os::unix::process::parent_id()))
}

/// No handoff where a directory private to the user cannot be checked.
#[cfg(not(unix))]
fn place(_base: &Path) -> Option<(PathBuf, u32)> {
    None
}

/// `crossrepl-handoff-<uid>` in `base`, created with mode 0700; `None` unless it is a directory (not a link) owned
/// by this user that no one else may read or write.
#[cfg(unix)]
fn private_dir(base: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = base.join(format!("crossrepl-handoff-{uid}"));
    let _ = fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crossrepl-handoff-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_read_is_handed_on_within_one_run_to_the_same_caller_only() {
        let dir = scratch("scope");
        let first = Handoff::in_dir(dir.clone(), 7, &[b"us-east-1", b"key-a"]);
        first.put("GetRole", "replication", &Some("arn:role".to_string()));

        let same = Handoff::in_dir(dir.clone(), 7, &[b"us-east-1", b"key-a"]);
        let got: Option<(Option<String>, _)> = same.get("GetRole", "replication");
        assert_eq!(got.map(|g| g.0), Some(Some("arn:role".to_string())));
        // another run, another caller, another operation or resource: nothing handed on
        let other_run = Handoff::in_dir(dir.clone(), 8, &[b"us-east-1", b"key-a"]);
        let other_caller = Handoff::in_dir(dir.clone(), 7, &[b"us-east-1", b"key-b"]);
        assert!(other_run.get::<Option<String>>("GetRole", "replication").is_none());
        assert!(other_caller.get::<Option<String>>("GetRole", "replication").is_none());
        assert!(same.get::<Option<String>>("GetPolicy", "replication").is_none());
        assert!(same.get::<Option<String>>("GetRole", "other").is_none());
        // a value of another shape is a miss, not an error
        assert!(same.get::<u8>("GetRole", "replication").is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_old_read_is_not_handed_on() {
        let dir = scratch("age");
        let h = Handoff::in_dir(dir.clone(), 7, &[b"caller"]);
        // an entry as another process wrote it `age` ago
        let written = |age: Duration| {
            let at_ms = now_ms() - age.as_millis() as u64;
            fs::write(h.path("HeadBucket", "b"), format!(r#"{{"at_ms":{at_ms},"value":true}}"#)).unwrap();
        };
        written(FRESH - Duration::from_millis(500));
        assert!(h.get::<bool>("HeadBucket", "b").is_some_and(|(_, age)| age >= FRESH - Duration::from_millis(500)));
        written(FRESH);
        assert!(h.get::<bool>("HeadBucket", "b").is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_write_drops_every_callers_reads_of_that_resource_only() {
        let dir = scratch("touched");
        let src = Handoff::in_dir(dir.clone(), 7, &[b"source"]);
        let dst = Handoff::in_dir(dir.clone(), 7, &[b"destination"]);
        src.put("GetObjectLockConfiguration", "bucket-a", &false);
        src.put("GetObjectLockConfiguration", "bucket-b", &false);
        dst.touched("bucket-a");
        assert!(src.get::<bool>("GetObjectLockConfiguration", "bucket-a").is_none());
        assert!(src.get::<bool>("GetObjectLockConfiguration", "bucket-b").is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_a_directory_private_to_the_user_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let base = scratch("private");
        let dir = private_dir(&base).expect("a private directory");
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        // the control: one others may write to is not used
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(private_dir(&base), None);
        // nor a link to a directory
        fs::remove_dir(&dir).unwrap();
        let target = base.join("elsewhere");
        fs::DirBuilder::new().create(&target).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&target, &dir).unwrap();
        assert_eq!(private_dir(&base), None);
        fs::remove_dir_all(base).unwrap();
    }
}

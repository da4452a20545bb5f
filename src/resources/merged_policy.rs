//! One resource's changes to a resource policy that others write too (a bucket policy, a KMS key policy): its own
//! statements merged in and taken out by `Sid`, or its entry in a statement it shares with others
//! ([`crate::domain::policy::edit`]), every other statement kept, under a per-policy lock in this process, and
//! looked at again after other processes' writes would have landed.
//!
//! S3 bucket policies and KMS key policies are last-writer-wins (both are replaced whole: PutBucketPolicy,
//! PutKeyPolicy), and S3 documents bucket configurations as eventually consistent with no bound ("Amazon S3 data
//! consistency model", https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel):
//! a read right after a write may still return the policy from before it. So:
//! - The lock serialises writers in this process (OpenTofu and Terraform run one provider process per provider
//!   block), and the process remembers the last change it made for each statement or entry it manages ([`Memory`]):
//!   every write starts from the policy as read with those changes made again. A stale read can therefore never
//!   make one resource undo another's change within a process.
//! - A writer in another process that read the policy before our write may land its own afterwards, dropping our
//!   change; a second look after [`SETTLE`] (longer on a slow endpoint, see [`settle`]) catches it and the write is
//!   redone. That look does not trust a read
//!   that is provably stale: one that returns the document our write was merged into, or one this process wrote
//!   before (S3 answers it again while our write has not reached it). It looks again every [`STEP`], up to
//!   [`STALE_WAIT`], and judges by the first read that is not provably stale.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tfplugin::StopToken;

use crate::aws::{AwsClients, AwsError, ErrorKind, kms, s3};
use crate::domain::policy::PolicyDocument;
use crate::domain::policy::edit::{SharedEdit, all_hold, apply_all};

/// Attempts at a write that another writer outside this process keeps overwriting.
const WRITE_ATTEMPTS: u32 = 5;

/// How long after a write crossrepl looks at the policy again (plus up to [`SETTLE_JITTER_MS`], plus twice the
/// writer's own read and write): [`MAX_GAP`] and a margin as long again, see [`settle`].
const SETTLE: Duration = Duration::from_millis(250);
/// Random extra wait, so that two processes catching each other do not redo their writes in lockstep.
const SETTLE_JITTER_MS: u64 = 250;
/// The longest a writer lets pass between the answer to its read and sending its write; a longer pause (a
/// process descheduled on a busy machine) makes it read again, so that no write rests on an older read.
const MAX_GAP: Duration = Duration::from_millis(100);
/// Reads after which a writer that keeps pausing longer than [`MAX_GAP`] writes anyway (its second look still
/// checks its own change).
const GAP_READS: u32 = 5;
/// The wait before the first redo of a change another writer undid; it doubles with each further redo.
const REDO_BACKOFF: Duration = Duration::from_millis(250);
/// How often the second look reads again while the policy it gets is provably stale.
const STEP: Duration = Duration::from_millis(250);
/// How long the second look waits for a read that is not provably stale before it judges anyway.
const STALE_WAIT: Duration = Duration::from_secs(10);
/// How many of its own documents per policy a process remembers, to recognise stale reads.
const REMEMBERED: usize = 8;

/// Where a resource policy lives.
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    /// What messages call it, e.g. `the bucket policy of acme-dr`; also the lock's key.
    fn name(&self) -> String;
    /// The policy text, or `None` when there is none.
    async fn read(&self) -> Result<Option<String>, AwsError>;
    /// Replaces the policy.
    async fn write(&self, doc: &str) -> Result<(), AwsError>;
    /// Deletes the policy (nothing of anyone's is left in it).
    async fn delete(&self) -> Result<(), AwsError>;
    /// The largest document AWS accepts here, in bytes of compact JSON.
    fn max_bytes(&self) -> usize;
}

/// What this process wrote to one policy: read-your-writes for its own changes, whatever S3's reads return.
#[derive(Default)]
struct Memory {
    /// The latest edit this process made for each key ([`Edit::key`]).
    intents: BTreeMap<String, SharedEdit>,
    /// The documents it wrote (or deleted: `None`), newest last.
    written: VecDeque<Option<PolicyDocument>>,
}

impl Memory {
    /// `read` with this process's changes made again, as it last made them.
    fn overlay(&self, read: Option<PolicyDocument>) -> Option<PolicyDocument> {
        self.intents.values().fold(read, |doc, e| e.apply(doc))
    }

    /// Records a write of `doc` (`None`: a delete) that replaced `base` and made `edits`; returns the documents
    /// a read after it may return only while it has not propagated.
    fn wrote(
        &mut self,
        base: Option<PolicyDocument>,
        doc: Option<PolicyDocument>,
        edits: &[SharedEdit],
    ) -> Vec<Option<PolicyDocument>> {
        self.intents.extend(edits.iter().map(|e| (e.key(), e.clone())));
        let mut older: Vec<_> = self.written.iter().filter(|w| !same(w.as_ref(), doc.as_ref())).cloned().collect();
        older.extend((!same(base.as_ref(), doc.as_ref())).then_some(base));
        self.written.push_back(doc);
        if self.written.len() > REMEMBERED {
            self.written.pop_front();
        }
        older
    }
}

fn same(a: Option<&PolicyDocument>, b: Option<&PolicyDocument>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.semantically_equal(b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// One async lock per policy, by its store's name, guarding what this process wrote to it.
async fn lock(key: &str) -> tokio::sync::OwnedMutexGuard<Memory> {
    type Locks = HashMap<String, Arc<tokio::sync::Mutex<Memory>>>;
    static LOCKS: LazyLock<Mutex<Locks>> = LazyLock::new(Default::default);
    let lock = LOCKS.lock().unwrap_or_else(|e| e.into_inner()).entry(key.to_string()).or_default().clone();
    lock.lock_owned().await
}

/// Reads and parses the policy, or an error if it exists but cannot be parsed (never clobber what we cannot read).
pub async fn read(store: &dyn PolicyStore) -> Result<Option<PolicyDocument>, String> {
    match store.read().await.map_err(|e| e.with_advice())? {
        None => Ok(None),
        Some(t) => PolicyDocument::parse(&t).map(Some).map_err(|e| {
            format!("{} could not be parsed ({e}); crossrepl will not overwrite it. Fix it by hand.", store.name())
        }),
    }
}

/// Waits `wait`; `false` when the engine asked to stop meanwhile.
async fn pause(stop: &StopToken, wait: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        () = stop.stopped() => false,
    }
}

/// [`SETTLE`] plus jitter, plus twice `round_trip`: how long our own read and write took. A writer in another
/// process loses our change only if its read came before our write and its write after our second look. Between
/// the two it spends its read's and its write's time at the endpoint, about as long as ours (same endpoint, same
/// moment: so on a slow endpoint the look waits longer), and at most [`MAX_GAP`] in between.
fn settle(round_trip: Duration) -> Duration {
    SETTLE + Duration::from_millis(random_below(SETTLE_JITTER_MS)) + 2 * round_trip
}

/// A number in `0..n` that differs between processes and moments (the clock's nanoseconds): spreads writers.
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % n.max(1)
}

/// The wait before redo number `redo` (1 for the first): [`REDO_BACKOFF`] doubled per further redo, plus up to as
/// much again at random. Many writers on one policy (a fan-in of hundreds of sources applied at once) undo each
/// other's changes while they overlap; spreading the redos out lets them finish instead of colliding again.
fn backoff(redo: u32) -> Duration {
    let base = REDO_BACKOFF * 2u32.saturating_pow(redo.saturating_sub(1));
    base + Duration::from_millis(random_below(base.as_millis() as u64))
}

/// The second look: after [`settle`], the first read that is not one of `older` (provably stale), or the last
/// read after [`STALE_WAIT`]; `None` when the engine asked to stop.
async fn second_look(
    store: &dyn PolicyStore,
    stop: &StopToken,
    older: &[Option<PolicyDocument>],
    round_trip: Duration,
) -> Result<Option<Option<PolicyDocument>>, String> {
    if !pause(stop, settle(round_trip)).await {
        return Ok(None);
    }
    let give_up = tokio::time::Instant::now() + STALE_WAIT;
    loop {
        let doc = read(store).await?;
        let stale = older.iter().any(|o| same(o.as_ref(), doc.as_ref()));
        if !stale || tokio::time::Instant::now() >= give_up {
            return Ok(Some(doc));
        }
        tracing::debug!(policy = store.name(), "the policy read is stale; looking again");
        if !pause(stop, STEP).await {
            return Ok(None);
        }
    }
}

/// Makes `edits` in the policy (deleting it when nothing is left), then verifies with a [`second_look`] and makes
/// them again if another writer undid them. `too_big` says what to do when the result is over the policy's size
/// limit.
pub async fn change(
    store: &dyn PolicyStore,
    stop: &StopToken,
    edits: &[SharedEdit],
    too_big: &str,
) -> Result<(), String> {
    let name = store.name();
    for attempt in 1..=WRITE_ATTEMPTS {
        if attempt > 1 && !pause(stop, backoff(attempt - 1)).await {
            return Err(format!(
                "Stopped before crossrepl made its change to {name} again after another writer undid it; run the \
                 command again."
            ));
        }
        let (older, round_trip) = {
            let mut memory = lock(&name).await;
            let started = std::time::Instant::now();
            let mut reads = 0;
            let (existing, doc, text) = loop {
                let existing = read(store).await?;
                let answered = std::time::Instant::now();
                if all_hold(existing.as_ref(), edits) {
                    return Ok(());
                }
                let doc = apply_all(memory.overlay(existing.clone()), edits);
                let text = doc.as_ref().map(PolicyDocument::to_json);
                if let Some(text) = &text {
                    check_size(store, text, too_big)?;
                }
                reads += 1;
                if answered.elapsed() <= MAX_GAP || reads >= GAP_READS {
                    break (existing, doc, text);
                }
                tracing::debug!(policy = name, "paused after reading the policy; reading it again");
            };
            match &text {
                Some(text) => store.write(text).await,
                None => store.delete().await,
            }
            .map_err(|e| e.with_advice())?;
            (memory.wrote(existing, doc, edits), started.elapsed())
        };
        // Outside the lock, so writers in this process are not held up.
        match second_look(store, stop, &older, round_trip).await? {
            None => return Ok(()),
            Some(doc) if all_hold(doc.as_ref(), edits) => return Ok(()),
            Some(_) => tracing::warn!(policy = name, attempt, "another writer undid our change; making it again"),
        }
    }
    Err(format!(
        "{name} kept changing while crossrepl changed its statements ({WRITE_ATTEMPTS} attempts). Another tool is \
         rewriting it, perhaps from an old copy; stop it or let it own the statements, then run the command again."
    ))
}

/// Refuses a document AWS would refuse for its size, with what to do (`too_big`).
fn check_size(store: &dyn PolicyStore, merged: &str, too_big: &str) -> Result<(), String> {
    let max = store.max_bytes();
    if merged.len() <= max {
        return Ok(());
    }
    Err(format!(
        "{} would be {} bytes with crossrepl's statements, and AWS accepts at most {max}. {too_big}",
        store.name(),
        merged.len()
    ))
}

/// The bucket policy of one bucket.
pub struct BucketPolicy<'a> {
    /// The clients of the bucket's account.
    pub aws: &'a AwsClients,
    /// The bucket.
    pub bucket: &'a str,
}

#[async_trait::async_trait]
impl PolicyStore for BucketPolicy<'_> {
    fn name(&self) -> String {
        format!("the bucket policy of {}", self.bucket)
    }
    async fn read(&self) -> Result<Option<String>, AwsError> {
        s3::policy(self.aws, self.bucket).await
    }
    async fn write(&self, doc: &str) -> Result<(), AwsError> {
        s3::put_policy(self.aws, self.bucket, doc).await
    }
    async fn delete(&self) -> Result<(), AwsError> {
        s3::delete_policy(self.aws, self.bucket).await
    }
    /// "Bucket policies are limited to 20 KB in size" (S3 user guide, "Bucket policies for Amazon S3",
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html>).
    fn max_bytes(&self) -> usize {
        20 * 1024
    }
}

/// The key policy of one KMS key. It cannot be deleted: KMS has no call for it, and every key has one
/// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html). When taking statements out would
/// leave it empty, [`change`] fails and keeps them.
pub struct KeyPolicy<'a> {
    /// The clients of the key's account.
    pub aws: &'a AwsClients,
    /// The key ARN.
    pub key_arn: &'a str,
}

#[async_trait::async_trait]
impl PolicyStore for KeyPolicy<'_> {
    fn name(&self) -> String {
        format!("the key policy of {}", self.key_arn)
    }
    async fn read(&self) -> Result<Option<String>, AwsError> {
        kms::key_policy(self.aws, self.key_arn).await
    }
    async fn write(&self, doc: &str) -> Result<(), AwsError> {
        kms::put_key_policy(self.aws, self.key_arn, doc).await
    }
    async fn delete(&self) -> Result<(), AwsError> {
        let msg = "taking crossrepl's statement out would leave this key policy empty, and a KMS key cannot be \
                   without one; crossrepl keeps its statement. Something removed every other statement, including \
                   the one that lets this account administer the key: restore it, then run the command again";
        Err(AwsError::local("kms", "PutKeyPolicy", format!("KMS key {}", self.key_arn), msg, ErrorKind::Other))
    }
    fn max_bytes(&self) -> usize {
        kms::MAX_KEY_POLICY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::edit::{PutStatement, RemoveStatement};
    use crate::domain::policy::{Effect, Statement};

    fn statement(sid: &str) -> Statement {
        Statement { sid: Some(sid.into()), ..Statement::new(Effect::Allow) }
    }

    fn put(sid: &str) -> SharedEdit {
        Arc::new(PutStatement(statement(sid)))
    }

    fn sids(doc: &Option<PolicyDocument>) -> Vec<&str> {
        doc.iter().flat_map(|d| &d.statements).filter_map(|s| s.sid.as_deref()).collect()
    }

    #[test]
    fn a_stale_read_gets_this_process_changes_back_as_it_made_them() {
        let mut memory = Memory::default();
        let doc = |sids: &[&str]| Some(PolicyDocument::new(sids.iter().map(|s| statement(s)).collect()));
        memory.wrote(doc(&["Foreign"]), doc(&["Foreign", "A", "Old"]), &[put("A")]);
        memory.wrote(None, doc(&["Foreign", "A"]), &[Arc::new(RemoveStatement("Old".into()))]);
        // A read from before both writes: A is put back, Old stays out, what others wrote is kept.
        assert_eq!(sids(&memory.overlay(doc(&["Foreign", "Old", "Theirs"]))), ["Foreign", "Theirs", "A"]);
        assert_eq!(sids(&memory.overlay(None)), ["A"]);
        // A further write: the earlier documents and its base are what a stale read returns.
        let older = memory.wrote(doc(&["Foreign"]), doc(&["Foreign", "A", "B"]), &[put("B")]);
        let older: Vec<_> = older.iter().map(sids).collect();
        assert_eq!(older, [vec!["Foreign", "A", "Old"], vec!["Foreign", "A"], vec!["Foreign"]]);
        // A later edit with the same key replaces the remembered one.
        memory.wrote(None, doc(&["Foreign", "A"]), &[put("Old")]);
        assert_eq!(sids(&memory.overlay(doc(&["Foreign"]))), ["Foreign", "A", "B", "Old"]);
    }

    #[test]
    fn redos_back_off_exponentially_with_jitter() {
        for redo in 1..=4 {
            let base = REDO_BACKOFF * 2u32.pow(redo - 1);
            let wait = backoff(redo);
            assert!(wait >= base && wait < 2 * base, "redo {redo}: {wait:?}");
        }
    }

    #[tokio::test]
    async fn locks_serialise_per_policy() {
        let a = lock("lock-test-a").await;
        // Another policy is independent.
        let _b = tokio::time::timeout(Duration::from_millis(100), lock("lock-test-b")).await.unwrap();
        // The same policy waits until the first guard is gone.
        assert!(tokio::time::timeout(Duration::from_millis(50), lock("lock-test-a")).await.is_err());
        drop(a);
        tokio::time::timeout(Duration::from_millis(100), lock("lock-test-a")).await.unwrap();
    }

    /// Clients whose every call would fail to connect (nothing listens on port 9 of localhost).
    async fn unreachable() -> AwsClients {
        let endpoint = Some("http://127.0.0.1:9".to_string());
        let settings = crate::aws::Settings {
            region: Some("us-east-1".into()),
            static_keys: Some(("222222222222".into(), "test".into(), None)),
            endpoints: crate::aws::Endpoints { kms: endpoint, ..Default::default() },
            max_attempts: 1,
            ..Default::default()
        };
        AwsClients::connect(&settings).await.unwrap()
    }

    #[tokio::test]
    async fn a_key_policy_is_never_deleted_and_no_policy_is_written_over_its_limit() {
        let aws = unreachable().await;
        let key = KeyPolicy { aws: &aws, key_arn: "arn:aws:kms:us-east-1:222222222222:key/k" };
        let e = key.delete().await.unwrap_err();
        assert!(e.message.contains("keeps its statement") && !e.unanswered, "{e}");
        let bucket = BucketPolicy { aws: &aws, bucket: "dst" };
        for (store, max) in [(&key as &dyn PolicyStore, 32_768), (&bucket, 20_480)] {
            // At the limit it is written; one byte over, refused with the limit and what to do.
            assert_eq!(check_size(store, &"x".repeat(max), "Do this."), Ok(()));
            let e = check_size(store, &"x".repeat(max + 1), "Do this.").unwrap_err();
            assert!(e.contains(&format!("at most {max}. Do this.")), "{e}");
        }
    }
}

//! Reads made by a plan moments ago in this process, handed to the apply that follows it.
//!
//! OpenTofu and Terraform plan a resource again in the apply walk, in the same provider process, right before
//! applying it. The plan-time checks read parts (a role, a policy, a replication configuration) that the apply's
//! observation would read again a few milliseconds later; [`Recent`] hands such a read over, so it is made once.
//! A read is handed over at most once and only while younger than [`FRESH`]. Nothing the apply writes depends on
//! it being newer: a role or policy that appears meanwhile makes CreateRole or CreatePolicy fail
//! (EntityAlreadyExists), as it would between any read and write.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a read is handed over.
pub const FRESH: Duration = Duration::from_secs(5);

type Entry = (Instant, Box<dyn Any + Send>);

/// Recent reads by kind (e.g. `GetRole`) and key (e.g. the role name).
#[derive(Default)]
pub struct Recent(Mutex<HashMap<(&'static str, String), Entry>>);

impl Recent {
    /// Keeps `value`, what a read of `kind` for `key` returned `age` ago (zero for a read made just now; more for
    /// one taken over from another process, see [`super::handoff`]): it is handed over only while the read itself
    /// is younger than [`FRESH`].
    pub fn keep<V: Send + 'static>(&self, kind: &'static str, key: &str, value: V, age: Duration) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < FRESH);
        let at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        map.insert((kind, key.to_string()), (at, Box::new(value)));
    }

    /// Makes `read` (of `kind` for `key`; what it returned and how long ago) and keeps the value when it succeeded.
    pub async fn checked<V, E>(
        &self,
        kind: &'static str,
        key: &str,
        read: impl std::future::Future<Output = Result<(V, Duration), E>>,
    ) -> Result<V, E>
    where
        V: Clone + Send + 'static,
    {
        let (value, age) = read.await?;
        self.keep(kind, key, value.clone(), age);
        Ok(value)
    }

    /// The value kept for `kind` and `key` if younger than [`FRESH`], taken out.
    pub fn take<V: 'static>(&self, kind: &'static str, key: &str) -> Option<V> {
        let (at, value) = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&(kind, key.to_string()))?;
        (at.elapsed() < FRESH).then(|| value.downcast::<V>().ok().map(|v| *v)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_handed_over_once_and_only_for_its_key_and_type() {
        let recent = Recent::default();
        recent.keep("GetRole", "a", Some(1u8), Duration::ZERO);
        assert_eq!(recent.take::<Option<u8>>("GetRole", "b"), None);
        assert_eq!(recent.take::<Option<u8>>("GetPolicy", "a"), None);
        assert_eq!(recent.take::<Option<u8>>("GetRole", "a"), Some(Some(1)));
        assert_eq!(recent.take::<Option<u8>>("GetRole", "a"), None);
        // Kept under a type the taker does not expect: not handed over.
        recent.keep("GetRole", "a", 1u16, Duration::ZERO);
        assert_eq!(recent.take::<u8>("GetRole", "a"), None);
    }

    #[tokio::test]
    async fn a_checked_read_is_kept_only_when_it_succeeded() {
        let recent = Recent::default();
        assert_eq!(
            recent.checked("GetRole", "a", async { Ok::<_, ()>((Some(1u8), Duration::ZERO)) }).await,
            Ok(Some(1))
        );
        assert_eq!(recent.checked("GetRole", "b", async { Err::<(Option<u8>, Duration), _>(()) }).await, Err(()));
        assert_eq!(recent.take::<Option<u8>>("GetRole", "a"), Some(Some(1)));
        assert_eq!(recent.take::<Option<u8>>("GetRole", "b"), None);
    }

    #[test]
    fn an_old_read_is_not_handed_over() {
        let recent = Recent::default();
        recent.keep("GetRole", "a", 1u8, FRESH - Duration::from_secs(1));
        assert_eq!(recent.take::<u8>("GetRole", "a"), Some(1), "a read taken over from another process, in time");
        recent.keep("GetRole", "a", 1u8, FRESH);
        assert_eq!(recent.take::<u8>("GetRole", "a"), None);
    }
}

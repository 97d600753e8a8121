//! Where the IMAP poller stands in one mailbox: kept in the store, read by the poller.

/// Where the poller stands in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: u32,
    /// Highest UID committed to the store.
    pub last_uid: u32,
}
